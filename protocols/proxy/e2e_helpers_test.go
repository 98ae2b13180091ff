package proxy_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"netstages/actors"
	"netstages/protocols/proxy"
	"netstages/protocols/proxy/cache"
	"netstages/transport"
)

// skewClock is real time plus an offset the test moves forward, so that
// cached entries age without waiting while socket deadlines stay sane.
type skewClock struct{ off atomic.Int64 }

func (c *skewClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *skewClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// origin is a test origin on 127.0.0.1 that counts the requests reaching
// it and records their conditional headers, so tests prove what went
// upstream.
type origin struct {
	srv   *http.Server
	ln    net.Listener
	url   string
	mu    sync.Mutex
	seen  []*http.Request
	count atomic.Int64
}

func startOrigin(t testing.TB, h http.HandlerFunc) *origin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &origin{ln: ln, url: "http://" + ln.Addr().String()}
	o.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.count.Add(1)
		o.mu.Lock()
		o.seen = append(o.seen, r.Clone(context.Background()))
		o.mu.Unlock()
		// No Date: the proxy's clock runs ahead of the origin's in these
		// tests, and a Date from the real clock would make every response
		// look old (RFC 9111 §4.2.3 apparent_age).
		w.Header()["Date"] = nil
		h(w, r)
	})}
	go o.srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		o.srv.Shutdown(ctx)
		o.srv.Close()
	})
	return o
}

func (o *origin) requests() []*http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*http.Request(nil), o.seen...)
}

// testProxy is our proxy on 127.0.0.1 with a cache on a skewable clock.
type testProxy struct {
	addr  string
	srv   *actors.Server
	cache *cache.Cache
	clock *skewClock
	stats *proxy.Stats
	meter *actors.Meter
}

func startProxy(t testing.TB, tweak func(*proxy.Config)) *testProxy {
	t.Helper()
	clk := &skewClock{}
	c := cache.New(cache.Config{Now: clk.Now, MaxBytes: 8 << 20, MaxObject: 1 << 20})
	cfg := proxy.Config{Network: &transport.System{}, Cache: c, Now: clk.Now, Stats: &proxy.Stats{}, UpstreamTimeout: 5 * time.Second}
	if tweak != nil {
		tweak(&cfg)
	}
	cfg = cfg.WithDefaults()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	meter := actors.NewMeter()
	srv := &actors.Server{Name: "proxy", Handle: proxy.Handler(cfg, meter), Grace: time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Shutdown()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		cfg.Pool.Close()
	})
	return &testProxy{addr: ln.Addr().String(), srv: srv, cache: c, clock: clk, stats: cfg.Stats, meter: meter}
}

// client is a Go net/http client that uses the proxy.
func (p *testProxy) client(t *testing.T) *http.Client {
	u, _ := url.Parse("http://" + p.addr)
	tr := &http.Transport{Proxy: http.ProxyURL(u), MaxIdleConnsPerHost: 200, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// waitFor polls cond for up to 10 s: teardown is asynchronous.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in 10s (goroutines: %d)", runtime.NumGoroutine())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
