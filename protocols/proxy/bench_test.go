package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkHit measures cache hits through the whole pipeline over
// loopback TCP, one keep-alive connection per parallel client, one request
// in flight each (as wrk does). Compare runs with benchstat; the bench/proxy
// script compares against Squid.
func BenchmarkHit(b *testing.B) {
	benchOneKiB(b, "max-age=3600", "/1k", "HIT")
}

// BenchmarkMiss measures the upstream side: every request is a miss (the
// origin says no-store), so each one is written to a pooled keep-alive
// origin connection and its response head read back by the upstream
// stages, then the body relayed. One keep-alive client connection per
// parallel client, one request in flight each.
func BenchmarkMiss(b *testing.B) {
	benchOneKiB(b, "no-store", "/nocache/1k", "MISS")
}

// benchOneKiB sends GETs for path, whose 1 KiB answer the origin serves
// with cacheControl, and checks each reply's X-Cache is xcache.
func benchOneKiB(b *testing.B, cacheControl, path, xcache string) {
	o := startOrigin(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", cacheControl)
		io.WriteString(w, strings.Repeat("x", 1024))
	})
	p := startProxy(b, nil).addr
	req := []byte(fmt.Sprintf("GET %s%s HTTP/1.1\r\nHost: %s\r\n\r\n", o.url, path, o.ln.Addr()))
	warm(b, p, req)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", p)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for pb.Next() {
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			if resp.Header.Get("X-Cache") != xcache || n != 1024 {
				b.Errorf("not a 1 KiB %s", xcache)
				return
			}
		}
	})
}

func warm(b *testing.B, proxyAddr string, req []byte) {
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.Write(req)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
}
