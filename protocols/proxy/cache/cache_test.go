package cache_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/protocols/proxy/cache"
)

// clock is a settable clock for the cache.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newCache(cfg cache.Config) (*cache.Cache, *clock) {
	clk := &clock{now: t0}
	cfg.Now = clk.Now
	return cache.New(cfg), clk
}

func entry(key string, resp http.Header, req http.Header, body string) *cache.Entry {
	return cache.NewEntry(key, 200, "OK", resp, []byte(body), req, t0, t0)
}

func TestDecide(t *testing.T) {
	const key = "http://origin/x"
	cases := []struct {
		name  string
		resp  http.Header
		req   http.Header
		after time.Duration
		want  cache.Action
	}{
		{"§4.2 fresh entry is served", hdr("Cache-Control", "max-age=60", "Date", date(t0)), hdr(), 30 * time.Second, cache.Serve},
		{"§4.2 stale entry is revalidated", hdr("Cache-Control", "max-age=60", "Date", date(t0)), hdr(), 61 * time.Second, cache.Revalidate},
		{"§4.2 exactly at lifetime is stale", hdr("Cache-Control", "max-age=60", "Date", date(t0)), hdr(), 60 * time.Second, cache.Revalidate},
		{"§5.2.2.4 response no-cache always revalidates", hdr("Cache-Control", "no-cache, max-age=60"), hdr(), 0, cache.Revalidate},
		{"§5.2.1.4 request no-cache revalidates", hdr("Cache-Control", "max-age=60"), hdr("Cache-Control", "no-cache"), 0, cache.Revalidate},
		{"§5.2.1.1 request max-age=0 revalidates", hdr("Cache-Control", "max-age=60"), hdr("Cache-Control", "max-age=0"), 0, cache.Revalidate},
		{"§5.2.1.1 request max-age older than entry serves", hdr("Cache-Control", "max-age=60"), hdr("Cache-Control", "max-age=20"), 10 * time.Second, cache.Serve},
		{"§5.2.1.1 entry older than request max-age", hdr("Cache-Control", "max-age=60"), hdr("Cache-Control", "max-age=20"), 30 * time.Second, cache.Revalidate},
		{"§5.2.1.3 min-fresh not met", hdr("Cache-Control", "max-age=60"), hdr("Cache-Control", "min-fresh=40"), 30 * time.Second, cache.Revalidate},
		{"§5.2.1.3 min-fresh met", hdr("Cache-Control", "max-age=60"), hdr("Cache-Control", "min-fresh=20"), 30 * time.Second, cache.Serve},
		{"§5.2.1.2 max-stale allows stale", hdr("Cache-Control", "max-age=60"), hdr("Cache-Control", "max-stale=30"), 80 * time.Second, cache.Serve},
		{"§5.2.1.2 beyond max-stale", hdr("Cache-Control", "max-age=60"), hdr("Cache-Control", "max-stale=10"), 80 * time.Second, cache.Revalidate},
		{"§5.2.2.2 must-revalidate beats max-stale", hdr("Cache-Control", "max-age=60, must-revalidate"), hdr("Cache-Control", "max-stale"), 80 * time.Second, cache.Revalidate},
		{"§5.2.2.8 proxy-revalidate beats max-stale", hdr("Cache-Control", "max-age=60, proxy-revalidate"), hdr("Cache-Control", "max-stale"), 80 * time.Second, cache.Revalidate},
		{"§5.2.2.10 s-maxage beats max-stale", hdr("Cache-Control", "s-maxage=60"), hdr("Cache-Control", "max-stale"), 80 * time.Second, cache.Revalidate},
		{"§5.2.1.7 only-if-cached with fresh entry", hdr("Cache-Control", "max-age=60"), hdr("Cache-Control", "only-if-cached"), 0, cache.Serve},
		{"§5.2.1.7 only-if-cached with stale entry is 504", hdr("Cache-Control", "max-age=60"), hdr("Cache-Control", "only-if-cached"), time.Hour, cache.GatewayTimeout},
		{"§5.4 Pragma is ignored", hdr("Cache-Control", "max-age=60"), hdr("Pragma", "no-cache"), 0, cache.Serve},
		{"§4.2.3 Age from upstream counts", hdr("Cache-Control", "max-age=60", "Age", "59"), hdr(), 2 * time.Second, cache.Revalidate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			ch, clk := newCache(cache.Config{})
			is.True(ch.Store(entry(key, c.resp, hdr(), "body"))) // stored
			clk.Add(c.after)
			d := ch.Decide("GET", key, c.req)
			is.Equal(d.Action, c.want) // action: d.Why explains
			is.True(d.Entry != nil)    // the entry is given
		})
	}
}

func TestDecideMissAndMethods(t *testing.T) {
	is := is.New(t)
	ch, _ := newCache(cache.Config{})
	is.Equal(ch.Decide("GET", "http://a/", hdr()).Action, cache.Forward)                                         // miss
	is.Equal(ch.Decide("GET", "http://a/", hdr("Cache-Control", "only-if-cached")).Action, cache.GatewayTimeout) // §5.2.1.7 miss
	ch.Store(entry("http://a/", hdr("Cache-Control", "max-age=60"), hdr(), "x"))
	is.Equal(ch.Decide("HEAD", "http://a/", hdr()).Action, cache.Serve)   // HEAD answered from GET
	is.Equal(ch.Decide("POST", "http://a/", hdr()).Action, cache.Forward) // never from cache
	d := ch.Decide("GET", "http://a/", hdr())
	is.Equal(cache.AgeHeader(d.Age), "0") // Age field
}

func TestVarySecondaryKey(t *testing.T) {
	is := is.New(t)
	ch, _ := newCache(cache.Config{})
	const key = "http://o/v"
	resp := func() http.Header {
		return hdr("Cache-Control", "max-age=60", "Vary", "Accept-Encoding, accept-language")
	}
	is.True(ch.Store(entry(key, resp(), hdr("Accept-Encoding", "gzip"), "gz")))
	is.True(ch.Store(entry(key, resp(), hdr("Accept-Encoding", "br"), "br")))
	is.Equal(string(ch.Get(key, hdr("Accept-Encoding", "gzip")).Body), "gz")             // §4.1 variant one
	is.Equal(string(ch.Get(key, hdr("Accept-Encoding", "br")).Body), "br")               // §4.1 variant two
	is.True(ch.Get(key, hdr()) == nil)                                                   // absent field differs from present
	is.True(ch.Get(key, hdr("Accept-Encoding", "gzip", "Accept-Language", "fr")) == nil) // second Vary field differs
	// §4.1: whitespace around list items is normalized.
	is.True(ch.Store(entry(key, resp(), hdr("Accept-Encoding", "gzip,  br"), "both")))
	is.Equal(string(ch.Get(key, hdr("Accept-Encoding", "gzip , br")).Body), "both")
	// Same secondary key replaces the variant.
	is.True(ch.Store(entry(key, resp(), hdr("Accept-Encoding", "gzip"), "gz2")))
	is.Equal(string(ch.Get(key, hdr("Accept-Encoding", "gzip")).Body), "gz2")
	is.Equal(ch.Stats().Entries, 3) // gz2, br, both
	is.True(ch.Invalidate(key))     // §4.4 drops every variant
	is.Equal(ch.Stats().Entries, 0)
	is.Equal(ch.Stats().Bytes, int64(0))
	is.True(!ch.Invalidate(key)) // nothing left
}

func TestLRUByBytes(t *testing.T) {
	is := is.New(t)
	body := string(make([]byte, 1000))
	one := entry("k", hdr(), hdr(), body).Size()
	ch, _ := newCache(cache.Config{MaxBytes: 3*one + one/2, MaxObject: 2000})
	for i := range 3 {
		is.True(ch.Store(entry(fmt.Sprint("k", i), hdr(), hdr(), body))) // fits
	}
	is.True(ch.Get("k0", hdr()) != nil) // k0 used: k1 is now the oldest
	is.True(ch.Store(entry("k3", hdr(), hdr(), body)))
	is.True(ch.Get("k1", hdr()) == nil) // evicted
	is.True(ch.Get("k0", hdr()) != nil) // kept
	st := ch.Stats()
	is.Equal(st.Entries, 3)
	is.Equal(st.Evictions, uint64(1))
	is.True(st.Bytes <= 3*one+one/2)                                           // within budget
	is.True(!ch.Store(entry("big", hdr(), hdr(), string(make([]byte, 2001))))) // over -max-object-size
	is.True(ch.Get("big", hdr()) == nil)
}

func TestRefreshedBy304(t *testing.T) {
	is := is.New(t)
	ch, clk := newCache(cache.Config{})
	old := entry("http://o/r", hdr("Cache-Control", "max-age=10", "ETag", `"v1"`, "Last-Modified", date(t0.Add(-time.Hour)),
		"Content-Length", "4", "X-Old", "kept"), hdr(), "body")
	ch.Store(old)
	clk.Add(time.Minute)
	d := ch.Decide("GET", "http://o/r", hdr())
	is.Equal(d.Action, cache.Revalidate)
	inm, ims := d.Entry.Validators()
	is.Equal(inm, `"v1"`)                   // §4.3.1 If-None-Match from ETag
	is.Equal(ims, date(t0.Add(-time.Hour))) // §4.3.1 If-Modified-Since from Last-Modified
	now := clk.Now()
	n := d.Entry.Refreshed(hdr("Cache-Control", "max-age=100", "ETag", `"v1"`, "Content-Length", "0", "Date", date(now)), hdr(), now, now)
	is.Equal(n.Header.Get("Cache-Control"), "max-age=100")  // §4.3.4 fields replaced
	is.Equal(n.Header.Get("Content-Length"), "4")           // §3.2 Content-Length kept
	is.Equal(n.Header.Get("X-Old"), "kept")                 // others kept
	is.Equal(string(n.Body), "body")                        // stored body served
	is.Equal(old.Header.Get("Cache-Control"), "max-age=10") // the stored entry is not changed
	ch.Store(n)
	is.Equal(ch.Decide("GET", "http://o/r", hdr()).Action, cache.Serve) // fresh again
	is.Equal(ch.Stats().Entries, 1)                                     // replaced, not added
}

func TestCollapse(t *testing.T) {
	is := is.New(t)
	ch, _ := newCache(cache.Config{})
	wait, release := ch.Collapse("k")
	is.True(wait == nil)    // first caller leads
	is.True(release != nil) // and must release
	w2, r2 := ch.Collapse("k")
	is.True(w2 != nil) // second waits
	is.True(r2 == nil)
	w3, r3 := ch.Collapse("other")
	is.True(w3 == nil) // other keys lead their own flight
	r3()
	release()
	release() // twice is harmless
	<-w2      // closed
	w4, r4 := ch.Collapse("k")
	is.True(w4 == nil) // a new flight after release
	r4()
}

func TestConcurrentUse(t *testing.T) {
	ch, _ := newCache(cache.Config{MaxBytes: 20000})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := fmt.Sprint("k", (g*7+i)%23)
				ch.Store(entry(k, hdr("Cache-Control", "max-age=60"), hdr(), "some body"))
				ch.Decide("GET", k, hdr())
				if i%17 == 0 {
					ch.Invalidate(k)
				}
			}
		})
	}
	wg.Wait()
	is := is.New(t)
	st := ch.Stats()
	is.True(st.Bytes <= 20000) // budget held under concurrent use
	is.True(st.Bytes >= 0)
}

func TestPassMarksExpire(t *testing.T) {
	is := is.New(t)
	ch, clk := newCache(cache.Config{})
	is.True(!ch.Passing("k")) // unmarked
	ch.Pass("k")
	is.True(ch.Passing("k")) // marked: misses go side by side
	clk.Add(cache.PassTime)
	is.True(!ch.Passing("k")) // expired
}
