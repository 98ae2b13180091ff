package cache_test

import (
	"strings"
	"testing"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/protocols/proxy/cache"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseCacheControl(t *testing.T) {
	none := cache.Directives{MaxAge: -1, MaxStale: -1, MinFresh: -1, SMaxAge: -1}
	with := func(f func(*cache.Directives)) cache.Directives { d := none; f(&d); return d }
	cases := []struct {
		name string
		in   []string
		want cache.Directives
	}{
		{"empty", nil, none},
		{"max-age", []string{"max-age=60"}, with(func(d *cache.Directives) { d.MaxAge = 60 })},
		{"case-insensitive names §5.2", []string{"Max-Age=5, NO-STORE"}, with(func(d *cache.Directives) { d.MaxAge = 5; d.NoStore = true })},
		{"spaces and empty items", []string{" , public ,, s-maxage = 10 ,"}, with(func(d *cache.Directives) { d.Public = true; d.SMaxAge = 10 })},
		{"quoted argument §5.2 (quoted-string allowed)", []string{`max-age="30"`}, with(func(d *cache.Directives) { d.MaxAge = 30 })},
		{"quoted field list with comma", []string{`private="a, b", max-age=3`}, with(func(d *cache.Directives) { d.Private = true; d.MaxAge = 3 })},
		{"no-cache with field names", []string{`no-cache="Set-Cookie"`}, with(func(d *cache.Directives) { d.NoCache = true })},
		{"first of repeated wins §4.2.1", []string{"max-age=10", "max-age=99"}, with(func(d *cache.Directives) { d.MaxAge = 10 })},
		{"invalid delta is stale (0)", []string{"max-age=abc"}, with(func(d *cache.Directives) { d.MaxAge = 0 })},
		{"negative is invalid", []string{"max-age=-5"}, with(func(d *cache.Directives) { d.MaxAge = 0 })},
		{"overflow is 2^31 §1.2.2", []string{"max-age=99999999999999999999"}, with(func(d *cache.Directives) { d.MaxAge = cache.MaxDelta })},
		{"max-stale without value", []string{"max-stale"}, with(func(d *cache.Directives) { d.MaxStale = cache.MaxDelta })},
		{"request directives", []string{"no-cache, only-if-cached, min-fresh=5, max-stale=7"}, with(func(d *cache.Directives) {
			d.NoCache, d.OnlyIfCached, d.MinFresh, d.MaxStale = true, true, 5, 7
		})},
		{"response directives", []string{"must-revalidate, proxy-revalidate, no-transform"}, with(func(d *cache.Directives) {
			d.MustRevalidate, d.ProxyRevalidate, d.NoTransf = true, true, true
		})},
		{"extension §5.2.3", []string{"community=\"UCI\""}, with(func(d *cache.Directives) { d.Extension = true })},
		{"unterminated quote", []string{`private="a, max-age=3`}, with(func(d *cache.Directives) { d.Private = true })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(cache.ParseCacheControl(c.in), c.want) // parsed directives
		})
	}
}

// FuzzParseCacheControl checks the parser never panics, keeps numeric
// values within range, and does not depend on how the list is split into
// field lines at commas outside quotes.
func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=60, public", `private="a,b", s-maxage=3`, "max-stale", "=,=,", `"`, "no-cache=\"\\\"", "max-age=99999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := cache.ParseCacheControl([]string{s})
		for _, n := range []int64{d.MaxAge, d.SMaxAge, d.MinFresh, d.MaxStale} {
			if n < -1 || n > cache.MaxDelta {
				t.Fatalf("value %d out of range for %q", n, s)
			}
		}
		if strings.Contains(s, `"`) {
			return // a comma inside quotes must not split the line
		}
		parts := strings.Split(s, ",")
		if d2 := cache.ParseCacheControl(parts); d2 != d {
			t.Fatalf("one line %+v != split lines %+v for %q", d, d2, s)
		}
	})
}
