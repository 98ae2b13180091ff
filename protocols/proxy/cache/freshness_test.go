package cache_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/protocols/proxy/cache"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func date(t time.Time) string { return t.Format(http.TimeFormat) }

func TestLifetime(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		h         http.Header
		want      time.Duration
		heuristic bool
	}{
		{"§4.2.1 s-maxage wins over max-age in a shared cache", 200, hdr("Cache-Control", "max-age=10, s-maxage=20"), 20 * time.Second, false},
		{"§4.2.1 max-age wins over Expires", 200, hdr("Cache-Control", "max-age=10", "Date", date(t0), "Expires", date(t0.Add(time.Hour))), 10 * time.Second, false},
		{"§4.2.1 Expires minus Date", 200, hdr("Date", date(t0), "Expires", date(t0.Add(time.Hour))), time.Hour, false},
		{"§4.2.1 Expires before Date is zero", 200, hdr("Date", date(t0), "Expires", date(t0.Add(-time.Hour))), 0, false},
		{"§5.3 invalid Expires is already expired", 200, hdr("Date", date(t0), "Expires", "0", "Last-Modified", date(t0.Add(-100*time.Hour))), 0, false},
		{"§4.2.1 Expires without Date uses response time", 200, hdr("Expires", date(t0.Add(time.Minute))), time.Minute, false},
		{"§4.2.2 heuristic 10% of Date - Last-Modified", 200, hdr("Date", date(t0), "Last-Modified", date(t0.Add(-10*time.Hour))), time.Hour, true},
		{"§4.2.2 heuristic capped", 200, hdr("Date", date(t0), "Last-Modified", date(t0.Add(-1000*24*time.Hour))), cache.DefaultHeuristicCap, true},
		{"§4.2.2 no heuristic for 302", 302, hdr("Date", date(t0), "Last-Modified", date(t0.Add(-10*time.Hour))), 0, false},
		{"§4.2.2 public allows heuristic for 302", 302, hdr("Cache-Control", "public", "Date", date(t0), "Last-Modified", date(t0.Add(-10*time.Hour))), time.Hour, true},
		{"§4.2.2 Last-Modified after Date gives nothing", 200, hdr("Date", date(t0), "Last-Modified", date(t0.Add(time.Hour))), 0, false},
		{"nothing to go on", 200, hdr("Date", date(t0)), 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			cc := cache.ParseCacheControl(c.h.Values("Cache-Control"))
			life, heur := cache.Lifetime(c.status, c.h, cc, t0, cache.DefaultHeuristicCap)
			is.Equal(life, c.want)      // lifetime
			is.Equal(heur, c.heuristic) // came from the heuristic
		})
	}
}

func TestCurrentAge(t *testing.T) {
	cases := []struct {
		name           string
		h              http.Header
		req, resp, now time.Time
		want           time.Duration
	}{
		{"§4.2.3 resident time only", hdr("Date", date(t0)), t0, t0, t0.Add(30 * time.Second), 30 * time.Second},
		{"§4.2.3 Age field plus response delay", hdr("Date", date(t0), "Age", "100"), t0, t0.Add(2 * time.Second), t0.Add(2 * time.Second), 102 * time.Second},
		{"§4.2.3 apparent age when Date is old", hdr("Date", date(t0.Add(-50*time.Second))), t0, t0, t0, 50 * time.Second},
		{"§4.2.3 Date in the future clamps to 0", hdr("Date", date(t0.Add(time.Hour))), t0, t0, t0.Add(time.Second), time.Second},
		{"§5.1 invalid Age ignored", hdr("Date", date(t0), "Age", "x"), t0, t0, t0, 0},
		{"§4.2.3 a Date from our own clock, its fraction of a second dropped, adds no age", hdr("Date", date(t0)), t0.Add(900 * time.Millisecond), t0.Add(950 * time.Millisecond), t0.Add(10950 * time.Millisecond), 10050 * time.Millisecond}, // resident 10 s + response delay 50 ms, not + 0.95 s
		{"§4.2.3 larger of apparent and corrected", hdr("Date", date(t0.Add(-10*time.Second)), "Age", "3"), t0, t0.Add(time.Second), t0.Add(time.Second), 11 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(cache.CurrentAge(c.h, c.req, c.resp, c.now), c.want) // current_age
		})
	}
}

func TestStorable(t *testing.T) {
	cases := []struct {
		name     string
		method   string
		req      http.Header
		status   int
		resp     http.Header
		storable bool
	}{
		{"§3 GET 200 with max-age", "GET", hdr(), 200, hdr("Cache-Control", "max-age=60"), true},
		{"§3 heuristically cacheable status without freshness info", "GET", hdr(), 200, hdr(), true},
		{"§3 HEAD is not stored", "HEAD", hdr(), 200, hdr("Cache-Control", "max-age=60"), false},
		{"§3 POST is not stored", "POST", hdr(), 200, hdr("Cache-Control", "max-age=60"), false},
		{"§3 302 without explicit freshness", "GET", hdr(), 302, hdr(), false},
		{"§3 302 with max-age", "GET", hdr(), 302, hdr("Cache-Control", "max-age=60"), true},
		{"§3 206 is not understood here", "GET", hdr(), 206, hdr("Cache-Control", "max-age=60"), false},
		{"§3 500 not stored", "GET", hdr(), 500, hdr("Cache-Control", "max-age=60"), false},
		{"§5.2.2.5 response no-store", "GET", hdr(), 200, hdr("Cache-Control", "max-age=60, no-store"), false},
		{"§5.2.1.5 request no-store", "GET", hdr("Cache-Control", "no-store"), 200, hdr("Cache-Control", "max-age=60"), false},
		{"§5.2.2.7 private in a shared cache", "GET", hdr(), 200, hdr("Cache-Control", "private, max-age=60"), false},
		{"§5.2.2.4 no-cache is stored (revalidated on use)", "GET", hdr(), 200, hdr("Cache-Control", "no-cache"), true},
		{"§3.5 Authorization without permission", "GET", hdr("Authorization", "Basic eDp5"), 200, hdr("Cache-Control", "max-age=60"), false},
		{"§3.5 Authorization with public", "GET", hdr("Authorization", "Basic eDp5"), 200, hdr("Cache-Control", "public, max-age=60"), true},
		{"§3.5 Authorization with s-maxage", "GET", hdr("Authorization", "Basic eDp5"), 200, hdr("Cache-Control", "s-maxage=60"), true},
		{"§3.5 Authorization with must-revalidate", "GET", hdr("Authorization", "Basic eDp5"), 200, hdr("Cache-Control", "must-revalidate, max-age=60"), true},
		{"§4.1 Vary: * never matches", "GET", hdr(), 200, hdr("Cache-Control", "max-age=60", "Vary", "Accept, *"), false},
		{"§3 Expires alone is explicit", "GET", hdr(), 307, hdr("Expires", date(t0)), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			ok, why := cache.Storable(c.method, c.req, cache.ParseCacheControl(c.req.Values("Cache-Control")),
				c.status, c.resp, cache.ParseCacheControl(c.resp.Values("Cache-Control")))
			is.Equal(ok, c.storable) // storable
			is.Equal(ok, why == "")  // a reason exactly when refused
		})
	}
}
