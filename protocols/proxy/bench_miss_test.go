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

// BenchmarkMiss measures the upstream side: every request is a miss (the
// origin says no-store), so each one is written to a pooled keep-alive
// origin connection and its response head read back by the upstream
// stages, then the body relayed. One keep-alive client connection per
// parallel client, one request in flight each.
func BenchmarkMiss(b *testing.B) {
	o := startOrigin(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, strings.Repeat("x", 1024))
	})
	p := startProxy(b, nil).addr
	req := []byte(fmt.Sprintf("GET %s/nocache/1k HTTP/1.1\r\nHost: %s\r\n\r\n", o.url, o.ln.Addr()))
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
			if resp.Header.Get("X-Cache") != "MISS" || n != 1024 {
				b.Error("not a 1 KiB miss")
				return
			}
		}
	})
}
