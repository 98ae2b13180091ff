package cache_test

import (
	"fmt"
	"net/http"
	"testing"

	"netstages/protocols/proxy/cache"
)

// BenchmarkDecideHit is the cache's share of a hit: parse the request's
// Cache-Control, find the variant, compute age and lifetime.
func BenchmarkDecideHit(b *testing.B) {
	c, _ := newCache(cache.Config{})
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprint("http://o/", i)
		c.Store(entry(keys[i], hdr("Cache-Control", "max-age=3600", "Date", date(t0), "ETag", `"x"`), hdr(), "body"))
	}
	req := http.Header{"User-Agent": {"bench"}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			d := c.Decide("GET", keys[i%len(keys)], req)
			if d.Action != cache.Serve {
				b.Fatal("not a hit")
			}
			i++
		}
	})
}
