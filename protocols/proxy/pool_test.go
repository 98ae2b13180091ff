package proxy_test

import (
	"context"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"netstages/protocols/proxy"
	"netstages/transport/mem"
)

func TestPoolReusesAndExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n := mem.NewNetwork(0)
		ln, err := n.Listen(context.Background(), "tcp", "origin:80")
		is.NoErr(err) // listen
		defer ln.Close()
		accepted := make(chan net.Conn, 8)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
		p := proxy.NewPool(proxy.PoolConfig{Dial: n.DialContext, MaxIdlePerHost: 1, IdleTimeout: time.Minute})
		defer p.Close()
		ctx := context.Background()
		c1, reused, err := p.Get(ctx, "origin:80")
		is.NoErr(err)
		is.True(!reused) // first is dialled
		c2, _, err := p.Get(ctx, "origin:80")
		is.NoErr(err)
		p.Put("origin:80", c1)
		p.Put("origin:80", c2) // over MaxIdlePerHost: closed
		_, err = c2.Write([]byte("x"))
		is.True(err != nil) // c2 was closed
		c3, reused, err := p.Get(ctx, "origin:80")
		is.NoErr(err)
		is.True(reused) // c1 again
		is.True(c3 == c1)
		p.Put("origin:80", c3)
		time.Sleep(2 * time.Minute) // idle past the timeout
		c4, reused, err := p.Get(ctx, "origin:80")
		is.NoErr(err)
		is.True(!reused) // expired one dropped, new dial
		c4.Close()
		st := p.Stats()
		is.Equal(st.Dials, uint64(3))
		is.Equal(st.Reuses, uint64(1))
		_, _, err = p.Get(ctx, "nobody:80")
		is.True(err != nil) // refused
		for range 3 {
			(<-accepted).Close()
		}
	})
}

func TestPoolClosesIdleConnsWithoutBeingAsked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n := mem.NewNetwork(0)
		ctx := context.Background()
		accepted := make(chan net.Conn, 8)
		for _, addr := range []string{"a:80", "b:80", "c:80"} {
			ln, err := n.Listen(ctx, "tcp", addr)
			is.NoErr(err) // listen
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					accepted <- c
				}
			}()
		}
		p := proxy.NewPool(proxy.PoolConfig{Dial: n.DialContext, MaxIdle: 2, IdleTimeout: time.Minute})
		defer p.Close()
		get := func(addr string) (net.Conn, net.Conn) {
			c, _, err := p.Get(ctx, addr)
			is.NoErr(err) // dialled
			return c, <-accepted
		}
		a, aOrigin := get("a:80")
		b, bOrigin := get("b:80")
		c, cOrigin := get("c:80")
		p.Put("a:80", a)
		time.Sleep(time.Second)
		p.Put("b:80", b)
		time.Sleep(time.Second)
		p.Put("c:80", c) // over MaxIdle: a, the oldest, is closed
		_, err := aOrigin.Read(make([]byte, 1))
		is.True(err != nil)         // the origin sees a's close
		is.Equal(p.Stats().Idle, 2) // b and c stay
		time.Sleep(2 * time.Minute) // nobody asks for b or c again
		_, err = bOrigin.Read(make([]byte, 1))
		is.True(err != nil) // b closed on its idle timeout
		_, err = cOrigin.Read(make([]byte, 1))
		is.True(err != nil)         // and c
		is.Equal(p.Stats().Idle, 0) // the pool is empty
		aOrigin.Close()
		bOrigin.Close()
		cOrigin.Close()
	})
}
