package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"sync/atomic"
	"time"

	"netstages/actors"
	"netstages/protocols/proxy"
	"netstages/protocols/proxy/cache"
)

// proxyStop puts the caching proxy between a client and a tiny origin on
// the tour's network and checks a miss, a hit and a revalidation, counting
// what reached the origin. The cache's clock is moved on by two minutes
// before the third request so that its entry is stale without waiting.
func proxyStop(ctx context.Context, t *tour) error {
	oln, err := t.net.Listen(ctx, "tcp", "origin:80")
	if err != nil {
		return err
	}
	defer oln.Close()
	var upstream atomic.Int64
	go tourOrigin(oln, &upstream)

	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	cfg := proxy.Config{Network: t.net, Cache: cache.New(cache.Config{Now: now}), Now: now,
		Permit: func(net.Addr) bool { return true }, UpstreamTimeout: 10 * time.Second}.WithDefaults()
	defer cfg.Pool.Close()
	pln, err := t.net.Listen(ctx, "tcp", "proxy:8888")
	if err != nil {
		return err
	}
	meter := actors.NewMeter()
	srv := &actors.Server{Name: "proxy", Handle: proxy.Handler(cfg, meter), Bus: t.events}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(pln) }()
	fmt.Fprintf(t.out, "proxy at %s caches the origin at %s (max-age=60, ETag \"v1\")\n", pln.Addr(), oln.Addr())

	c, err := t.net.DialContext(ctx, "tcp", pln.Addr().String())
	if err != nil {
		return err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	steps := []struct {
		what, want string
		upstream   int64
		before     time.Duration
	}{
		{"first GET", "MISS", 1, 0},
		{"again", "HIT", 1, 0},
		{"2 min later", "REVALIDATED", 2, 2 * time.Minute},
	}
	var failure error
	for _, s := range steps {
		skew.Add(int64(s.before))
		start := time.Now()
		io.WriteString(c, "GET http://origin/page HTTP/1.1\r\nHost: origin\r\n\r\n")
		resp, err := nethttp.ReadResponse(br, nil)
		got, body := "", ""
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			got, body = resp.Header.Get("X-Cache"), string(b)
		}
		status := "ok"
		if err != nil || got != s.want || upstream.Load() != s.upstream || body != "hello from origin" {
			status = "MISMATCH"
			failure = fmt.Errorf("%s: want X-Cache %s and %d origin requests, got %q, %d (body %q, err %v)", s.what, s.want, s.upstream, got, upstream.Load(), body, err)
		}
		fmt.Fprintf(t.out, "%-12s X-Cache: %-11s origin requests so far: %d  %s (%v)\n", s.what, got, upstream.Load(), status, time.Since(start).Round(time.Microsecond))
	}
	c.Close()
	srv.Shutdown()
	if err := <-served; err != nil {
		return err
	}
	t.showPipeline(meter)
	return failure
}

// tourOrigin answers every request with a fresh-for-60s body tagged "v1",
// and 304 to a conditional request that has that tag.
func tourOrigin(ln net.Listener, count *atomic.Int64) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			br := bufio.NewReader(c)
			for {
				req, err := nethttp.ReadRequest(br)
				if err != nil {
					return
				}
				count.Add(1)
				if req.Header.Get("If-None-Match") == `"v1"` {
					io.WriteString(c, "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nCache-Control: max-age=60\r\n\r\n")
					continue
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nCache-Control: max-age=60\r\nContent-Length: 17\r\n\r\nhello from origin")
			}
		}()
	}
}
