package proxy_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"netstages/actors"
	"netstages/protocols/proxy"
	"netstages/protocols/proxy/cache"
	"netstages/transport/mem"
)

// BenchmarkIdleConnMemory measures the proxy's memory per idle client
// connection: 2,000 clients on the in-process network each get one
// response (the first a miss, the rest hits) and then sit idle. Reported:
// the growth of heap and stack in use after a GC, per connection. The
// clients' own ends and buffers (4 KiB per direction) are in the figure
// too, so compare it between versions rather than read it alone.
func BenchmarkIdleConnMemory(b *testing.B) {
	for range b.N {
		b.ReportMetric(idleConnMemory(b, 2000), "heap+stack-B/conn")
	}
}

func idleConnMemory(b *testing.B, conns int) float64 {
	ctx := context.Background()
	n := mem.NewNetwork(4 << 10)
	oln, err := n.Listen(ctx, "tcp", "origin:80")
	if err != nil {
		b.Fatal(err)
	}
	defer oln.Close()
	var count atomic.Int64
	go tinyOrigin(oln, &count)
	cfg := proxy.Config{Network: n, Cache: cache.New(cache.Config{}), Permit: func(net.Addr) bool { return true }}.WithDefaults()
	defer cfg.Pool.Close()
	pln, err := n.Listen(ctx, "tcp", "proxy:8888")
	if err != nil {
		b.Fatal(err)
	}
	srv := &actors.Server{Name: "proxy", Handle: proxy.Handler(cfg, actors.NewMeter())}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(pln) }()
	defer func() {
		srv.Shutdown()
		<-served
	}()
	before := heapAndStack()
	clients := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for range conns {
		c, err := n.DialContext(ctx, "tcp", "proxy:8888")
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, c)
		io.WriteString(c, "GET http://origin/page HTTP/1.1\r\nHost: origin\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
	}
	time.Sleep(200 * time.Millisecond) // let every stage settle into its idle wait
	return (float64(heapAndStack()) - float64(before)) / float64(conns)
}

// heapAndStack returns heap+stack in use after a GC.
func heapAndStack() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}
