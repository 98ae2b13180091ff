package proxy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"netstages/actors"
	"netstages/protocols/proxy"
	"netstages/protocols/proxy/cache"
	"netstages/transport/mem"
)

// rawOrigin serves ln until it closes: for every request on every
// connection (its body read and dropped) answer writes the raw response.
func rawOrigin(ln net.Listener, answer func(w io.Writer, req *http.Request)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			br := bufio.NewReader(c)
			for {
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				answer(c, req)
			}
		}()
	}
}

// tinyOrigin serves every request on ln with a fresh-for-60s response
// tagged "v1", and 304 to a request that already has it; count counts
// the requests that reach it.
func tinyOrigin(ln net.Listener, count *atomic.Int64) {
	rawOrigin(ln, func(w io.Writer, req *http.Request) {
		count.Add(1)
		if req.Header.Get("If-None-Match") == `"v1"` {
			io.WriteString(w, "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nCache-Control: max-age=60\r\n\r\n")
			return
		}
		body := "hello " + req.URL.Path
		fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nCache-Control: max-age=60\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	})
}

func TestOverMemUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		ctx := context.Background()
		n := mem.NewNetwork(0)
		oln, err := n.Listen(ctx, "tcp", "origin:80")
		is.NoErr(err) // origin listens
		var count atomic.Int64
		go tinyOrigin(oln, &count)
		cfg := proxy.Config{Network: n, Cache: cache.New(cache.Config{}), Permit: func(net.Addr) bool { return true },
			IdleTimeout: 5 * time.Minute}.WithDefaults() // the client waits 1 min between requests
		pln, err := n.Listen(ctx, "tcp", "proxy:8888")
		is.NoErr(err) // proxy listens
		meter := actors.NewMeter()
		srv := &actors.Server{Name: "proxy", Handle: proxy.Handler(cfg, meter)}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(pln) }()

		c, err := n.DialContext(ctx, "tcp", "proxy:8888")
		is.NoErr(err)
		br := bufio.NewReader(c)
		ask := func() (string, string) {
			io.WriteString(c, "GET http://origin/page HTTP/1.1\r\nHost: origin\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			is.NoErr(err)
			b, _ := io.ReadAll(resp.Body)
			return resp.Header.Get("X-Cache"), string(b)
		}
		how, body := ask()
		is.Equal(how, "MISS")
		is.Equal(body, "hello /page")
		time.Sleep(30 * time.Second) // fake time
		how, _ = ask()
		is.Equal(how, "HIT")
		is.Equal(count.Load(), int64(1)) // nothing upstream for a hit
		time.Sleep(time.Minute)
		how, body = ask()
		is.Equal(how, "REVALIDATED")
		is.Equal(body, "hello /page")
		is.Equal(count.Load(), int64(2)) // one conditional request
		is.Equal(cfg.Stats.Revalidated.Load(), uint64(1))
		// Both sides were counted: two exchanges went through the upstream
		// stages (the miss and the revalidation), the hit did not.
		counts := map[string]actors.StageCount{}
		for _, s := range meter.Snapshot().Stages {
			counts[s.Name] = s
		}
		is.Equal(counts["handler"].In, uint64(3)) // three requests (one batch each)
		is.Equal(counts["misses"].Out, uint64(2)) // two exchanges went upstream
		for _, name := range []string{"origin writer", "origin reader", "response framer", "response parser", "to handler"} {
			is.Equal(counts[name].In, uint64(2)) // each stage saw both
		}

		c.Close()
		srv.Shutdown()
		is.NoErr(<-served)
		cfg.Pool.Close()
		oln.Close()
		synctest.Wait()
		is.Equal(meter.Snapshot().Finished, uint64(1))
	})
}

// TestGraphHasBothSides checks the picture: the client side's five stages
// and the upstream side's six, each a chain, the upstream one fused (one
// goroutine, direct calls).
func TestGraphHasBothSides(t *testing.T) {
	is := is.New(t)
	g := proxy.Graph()
	var names, edges []string
	for _, n := range g.Nodes {
		names = append(names, n.Name)
	}
	for _, e := range g.Edges {
		edges = append(edges, fmt.Sprintf("%s->%s:%d", e.From, e.To, e.Buffer))
	}
	is.Equal(fmt.Sprint(names), "[reader framer parser handler writer misses origin writer origin reader response framer response parser to handler cache]") // client side, upstream side, the cache between
	is.Equal(fmt.Sprint(edges), "[reader->framer:4 framer->parser:4 parser->handler:4 handler->writer:4 "+
		"misses->origin writer:-1 origin writer->origin reader:-1 origin reader->response framer:-1 response framer->response parser:-1 response parser->to handler:-1 "+
		"handler->misses:-2 handler->cache:-2]") // two chains, the upstream one fused, joined by the handler's call; the handler calls the cache
	is.Equal(g.Nodes[len(g.Nodes)-1].Role, actors.RoleStore) // the cache is state, not a stage
}
