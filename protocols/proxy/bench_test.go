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
	o := startOrigin(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		io.WriteString(w, strings.Repeat("x", 1024))
	})
	p := startProxy(b, nil).addr
	req := []byte(fmt.Sprintf("GET %s/1k HTTP/1.1\r\nHost: %s\r\n\r\n", o.url, o.ln.Addr()))
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
			io.Copy(io.Discard, resp.Body)
			if resp.Header.Get("X-Cache") != "HIT" {
				b.Error("not a hit")
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
