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

	"netstages/protocols/proxy"
)

func TestFailedConnectSaysConnectionCloseOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n, _, stop := memProxy(t, 2, nil)
		for _, req := range []string{"CONNECT nowhere:443 HTTP/1.1\r\nHost: nowhere:443\r\nConnection: close\r\n\r\n",
			"CONNECT nowhere:443 HTTP/1.0\r\n\r\n"} {
			c, err := n.DialContext(context.Background(), "tcp", "proxy:8888")
			is.NoErr(err) // dial the proxy
			io.WriteString(c, req)
			got, _ := waitClosed(c)
			head, _, _ := strings.Cut(got, "\r\n\r\n")
			is.True(strings.HasPrefix(head, "HTTP/1.1 502 "))        // nobody listens there
			is.Equal(strings.Count(head, "\r\nConnection:"), 1)      // one Connection field
			is.True(strings.Contains(head, "\r\nConnection: close")) // and it says close
			c.Close()
		}
		stop()
	})
}

func TestChunkedResponseWithExtraBytesIsRelayedWhole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var pool *proxy.Pool
		n, _, stop := memProxy(t, 2, func(c *proxy.Config) {
			pool = proxy.NewPool(proxy.PoolConfig{Dial: c.Network.DialContext})
			c.Pool = pool
		})
		ln, err := n.Listen(context.Background(), "tcp", "junk:80")
		is.NoErr(err) // a sloppy origin listens
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					br := bufio.NewReader(c)
					for {
						if _, err := http.ReadRequest(br); err != nil {
							return
						}
						io.WriteString(c, "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGARBAGE")
					}
				}()
			}
		}()
		c, err := n.DialContext(context.Background(), "tcp", "proxy:8888")
		is.NoErr(err) // dial the proxy
		br := bufio.NewReader(c)
		for range 2 {
			io.WriteString(c, "GET http://junk/ HTTP/1.1\r\nHost: junk\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			is.NoErr(err) // a response
			b, err := io.ReadAll(resp.Body)
			is.NoErr(err)                // the whole chunked body
			is.Equal(string(b), "hello") // not truncated
		}
		is.Equal(pool.Stats().Reuses, uint64(0)) // an origin that sent extra bytes is not trusted again
		is.Equal(pool.Stats().Dials, uint64(2))
		c.Close()
		ln.Close()
		stop()
	})
}

func TestHTTP10ClientGetsNo100Continue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n, _, stop := memProxy(t, 2, nil)
		c, err := n.DialContext(context.Background(), "tcp", "proxy:8888")
		is.NoErr(err) // dial the proxy
		size := 2 * proxy.StreamThreshold
		fmt.Fprintf(c, "POST http://origin/up HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n%s", size, strings.Repeat("u", size))
		got, _ := waitClosed(c)
		is.True(strings.HasPrefix(got, "HTTP/1.1 200 ")) // the final answer first: no 100 to a 1.0 client (RFC 9110 §10.1.1)
		is.True(!strings.Contains(got, "100 Continue"))
		c.Close()
		stop()
	})
}

func TestRefusedClientIsAnsweredAtOnceWithoutSendingAByte(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n, srv, stop := memProxy(t, 2, func(c *proxy.Config) { c.Permit = func(net.Addr) bool { return false } })
		c, err := n.DialContext(context.Background(), "tcp", "proxy:8888")
		is.NoErr(err) // dial the proxy
		got, took := waitClosed(c)
		is.True(strings.HasPrefix(got, "HTTP/1.1 403 ")) // refused on sight
		is.True(strings.Contains(got, "not allowed"))
		is.True(took < time.Second) // at once, not after a header or idle timeout
		time.Sleep(time.Second)     // the client keeps its end open: the lingering close ends anyway
		synctest.Wait()
		is.Equal(srv.Active(), int64(0)) // the slot is free
		c.Close()
		stop()
	})
}
