package proxy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"netstages/actors"
	"netstages/protocols/proxy"
	"netstages/transport/mem"
)

// memProxy serves a proxy on a mem network inside a synctest bubble, with
// an origin at origin:80 answering every request with a body of size bytes.
// It returns the network, the server and a stop func that checks every
// pipeline ended.
func memProxy(t *testing.T, size int, edit func(*proxy.Config)) (*mem.Network, *actors.Server, func()) {
	is := is.New(t)
	ctx := context.Background()
	n := mem.NewNetwork(0)
	oln, err := n.Listen(ctx, "tcp", "origin:80")
	is.NoErr(err) // origin listens
	go rawOrigin(oln, func(w io.Writer, _ *http.Request) {
		fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: %d\r\n\r\n%s", size, strings.Repeat("x", size))
	})
	cfg := proxy.Config{Network: n, Permit: func(net.Addr) bool { return true }}
	if edit != nil {
		edit(&cfg)
	}
	cfg = cfg.WithDefaults()
	pln, err := n.Listen(ctx, "tcp", "proxy:8888")
	is.NoErr(err) // proxy listens
	srv := &actors.Server{Name: "proxy", Handle: proxy.Handler(cfg, nil)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(pln) }()
	return n, srv, func() {
		srv.Shutdown()
		is.NoErr(<-served) // the server ends cleanly
		cfg.Pool.Close()
		oln.Close()
		synctest.Wait()
	}
}

// waitClosed reads what the proxy sends until it closes the connection and
// returns it with how long that took.
func waitClosed(c net.Conn) (string, time.Duration) {
	start := time.Now()
	b, _ := io.ReadAll(c)
	return string(b), time.Since(start)
}

func TestHalfSentHeadGets408AfterReadHeaderTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n, srv, stop := memProxy(t, 5, nil)
		c, err := n.DialContext(context.Background(), "tcp", "proxy:8888")
		is.NoErr(err) // dial the proxy
		io.WriteString(c, "GET http://origin/ HTTP/1.1\r\nHo")
		got, took := waitClosed(c)
		is.True(strings.HasPrefix(got, "HTTP/1.1 408 ")) // the slow head is answered 408
		is.Equal(took, proxy.DefaultReadHeaderTimeout)   // exactly when the header timeout passes
		synctest.Wait()
		is.Equal(srv.Active(), int64(0)) // the connection's slot is free
		c.Close()
		stop()
	})
}

func TestSilentClientIsClosedAfterIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n, srv, stop := memProxy(t, 5, nil)
		c, err := n.DialContext(context.Background(), "tcp", "proxy:8888")
		is.NoErr(err) // dial the proxy
		got, took := waitClosed(c)
		is.Equal(got, "")                        // nothing asked, nothing said
		is.Equal(took, proxy.DefaultIdleTimeout) // closed when the idle timeout passes
		synctest.Wait()
		is.Equal(srv.Active(), int64(0)) // the connection's slot is free
		c.Close()
		stop()
	})
}

func TestKeptAliveConnectionIsClosedAfterIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n, _, stop := memProxy(t, 5, func(c *proxy.Config) { c.IdleTimeout = 20 * time.Second })
		c, err := n.DialContext(context.Background(), "tcp", "proxy:8888")
		is.NoErr(err) // dial the proxy
		br := bufio.NewReader(c)
		io.WriteString(c, "GET http://origin/a HTTP/1.1\r\nHost: origin\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		is.NoErr(err) // a response
		b, _ := io.ReadAll(resp.Body)
		is.Equal(string(b), "xxxxx") // the whole body
		start := time.Now()
		_, err = br.ReadByte()
		is.Equal(err, io.EOF)                       // then the proxy closes the idle connection
		is.Equal(time.Since(start), 20*time.Second) // after the idle timeout
		c.Close()
		stop()
	})
}

func TestSlowUploadThatKeepsMovingIsNotCut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n, _, stop := memProxy(t, 2, func(c *proxy.Config) { c.IdleTimeout = 10 * time.Second })
		c, err := n.DialContext(context.Background(), "tcp", "proxy:8888")
		is.NoErr(err) // dial the proxy
		io.WriteString(c, "POST http://origin/up HTTP/1.1\r\nHost: origin\r\nContent-Length: 6\r\n\r\n")
		for range 6 { // 30 s in all, each byte within the idle timeout
			time.Sleep(5 * time.Second)
			io.WriteString(c, "u")
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		is.NoErr(err)                  // the upload is answered
		is.Equal(resp.StatusCode, 200) // by the origin
		c.Close()
		stop()
	})
}

func TestClientThatStopsReadingIsClosedAfterWriteTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n, srv, stop := memProxy(t, 4<<20, func(c *proxy.Config) { c.WriteTimeout = 15 * time.Second })
		c, err := n.DialContext(context.Background(), "tcp", "proxy:8888")
		is.NoErr(err) // dial the proxy
		io.WriteString(c, "GET http://origin/big HTTP/1.1\r\nHost: origin\r\n\r\n")
		time.Sleep(time.Minute) // never reads
		synctest.Wait()
		is.Equal(srv.Active(), int64(0)) // the proxy gave up on the stalled client
		c.Close()
		stop()
	})
}

func TestSlowStreamedUploadLongerThanUpstreamTimeoutIsNot504(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n, _, stop := memProxy(t, 2, func(c *proxy.Config) { c.UpstreamTimeout = 10 * time.Second })
		c, err := n.DialContext(context.Background(), "tcp", "proxy:8888")
		is.NoErr(err) // dial the proxy
		const piece = proxy.StreamThreshold
		fmt.Fprintf(c, "POST http://origin/up HTTP/1.1\r\nHost: origin\r\nContent-Length: %d\r\n\r\n", 4*piece)
		for range 4 { // 28 s in all, each piece within the upstream timeout
			time.Sleep(7 * time.Second)
			io.WriteString(c, strings.Repeat("u", piece))
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		is.NoErr(err)                  // the upload is answered
		is.Equal(resp.StatusCode, 200) // by the origin, not 504
		c.Close()
		stop()
	})
}
