package mem_test

import (
	"context"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"
	"golang.org/x/net/nettest"

	"netstages/transport"
	"netstages/transport/mem"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var _ transport.Network = (*mem.Network)(nil)

func TestConnPassesNettest(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		a, b := mem.Pipe(mem.Addr{Net: "mem", HostPort: "a:1"}, mem.Addr{Net: "mem", HostPort: "b:2"}, 0)
		return a, b, func() { a.Close(); b.Close() }, nil
	})
}

func TestListenDialEcho(t *testing.T) {
	is := is.New(t)
	n := mem.NewNetwork(0)
	ctx := context.Background()
	ln, err := n.Listen(ctx, "tcp", "server:0")
	is.NoErr(err) // listen
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	c, err := n.DialContext(ctx, "tcp", ln.Addr().String())
	is.NoErr(err) // dial
	defer c.Close()
	_, err = c.Write([]byte("hello"))
	is.NoErr(err)                                    // write
	is.NoErr(c.(transport.CloseWriter).CloseWrite()) // half-close
	got, err := io.ReadAll(c)
	is.NoErr(err)                  // read to EOF
	is.Equal(string(got), "hello") // echoed
}

func TestDialRefused(t *testing.T) {
	is := is.New(t)
	n := mem.NewNetwork(0)
	_, err := n.DialContext(context.Background(), "tcp", "nobody:1")
	is.True(err != nil) // nobody listens
}

func TestCloseReadGivesEOFAndKeepsWriting(t *testing.T) {
	is := is.New(t)
	a, b := mem.Pipe(mem.Addr{HostPort: "a:1"}, mem.Addr{HostPort: "b:1"}, 0)
	defer a.Close()
	defer b.Close()
	is.NoErr(a.CloseRead()) // shut read side
	_, err := a.Read(make([]byte, 1))
	is.Equal(err, io.EOF) // reads end
	_, err = a.Write([]byte("still"))
	is.NoErr(err) // writes go on
	buf := make([]byte, 5)
	_, err = io.ReadFull(b, buf)
	is.NoErr(err)
	is.Equal(string(buf), "still")
}

func TestDeadlineUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		a, b := mem.Pipe(mem.Addr{HostPort: "a:1"}, mem.Addr{HostPort: "b:1"}, 0)
		defer a.Close()
		defer b.Close()
		start := time.Now()
		a.SetReadDeadline(start.Add(3 * time.Second))
		_, err := a.Read(make([]byte, 1))
		var ne net.Error
		is.True(err != nil)                         // timed out
		is.True(asNetErr(err, &ne) && ne.Timeout()) // a timeout error
		is.Equal(time.Since(start), 3*time.Second)  // exactly on fake time
	})
}

func asNetErr(err error, target *net.Error) bool {
	ne, ok := err.(net.Error)
	*target = ne
	return ok
}

func TestPackets(t *testing.T) {
	is := is.New(t)
	n := mem.NewNetwork(0)
	ctx := context.Background()
	srv, err := n.ListenPacket(ctx, "udp", "server:12000")
	is.NoErr(err)
	defer srv.Close()
	cli, err := n.ListenPacket(ctx, "udp", "client:0")
	is.NoErr(err)
	defer cli.Close()
	_, err = cli.WriteTo([]byte("Ping 1"), srv.LocalAddr())
	is.NoErr(err)
	buf := make([]byte, 64)
	k, from, err := srv.ReadFrom(buf)
	is.NoErr(err)
	is.Equal(string(buf[:k]), "Ping 1")
	is.Equal(from.String(), cli.LocalAddr().String())
	srv.SetReadDeadline(time.Now().Add(-time.Second))
	_, _, err = srv.ReadFrom(buf)
	is.True(err != nil) // past deadline
}
