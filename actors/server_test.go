package actors_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"netstages/actors"
	"netstages/actors/bus"
	"netstages/transport/mem"
)

// lineEcho is a one-stage-per-role-free handler for server tests: it echoes
// lines until EOF.
func lineEcho(ctx context.Context, conn net.Conn) error {
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			if _, werr := io.WriteString(conn, line); werr != nil {
				return werr
			}
		}
		if err != nil {
			return nil
		}
	}
}

func TestServerLimitRefusesPolitely(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n := mem.NewNetwork(0)
		ln, err := n.Listen(context.Background(), "tcp", "srv:7")
		is.NoErr(err) // listen
		b := bus.New(bus.Options{})
		counter, err := bus.NewConnCounter(b, nil)
		is.NoErr(err) // subscribe
		srv := &actors.Server{Name: "t", Handle: lineEcho, MaxConns: 1, Bus: b,
			Refuse: func(c net.Conn) { io.WriteString(c, "busy\n") }}
		served := make(chan error)
		go func() { served <- srv.Serve(ln) }()
		go b.Run(context.Background())
		counted := make(chan error)
		go func() { counted <- counter.Run() }()

		first, err := n.DialContext(context.Background(), "tcp", "srv:7")
		is.NoErr(err) // first conn
		io.WriteString(first, "hi\n")
		line, _ := bufio.NewReader(first).ReadString('\n')
		is.Equal(line, "hi\n") // first is served
		is.Equal(srv.Active(), int64(1))

		second, err := n.DialContext(context.Background(), "tcp", "srv:7")
		is.NoErr(err) // second conn accepted at the socket level
		got, _ := io.ReadAll(second)
		is.Equal(string(got), "busy\n") // refused with a message, then closed
		is.Equal(srv.Refused(), uint64(1))

		first.Close()
		second.Close()
		srv.Shutdown()
		is.NoErr(<-served) // shutdown is clean
		b.Close()
		is.NoErr(<-counted)
		c := counter.Counts()
		is.Equal(c, bus.ConnCounts{Active: 0, Opened: 1, Closed: 1, Refused: 1}) // counted from events
	})
}

func TestServerShutdownFinishesInFlightThenForces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n := mem.NewNetwork(0)
		ln, _ := n.Listen(context.Background(), "tcp", "srv:7")
		var served atomic.Int32
		forced := make(chan time.Time, 1)
		handle := func(ctx context.Context, conn net.Conn) error {
			if served.Add(1) == 2 { // the second connection ignores EOF: a stuck handler
				<-ctx.Done()
				forced <- time.Now()
				return nil
			}
			return lineEcho(ctx, conn)
		}
		srv := &actors.Server{Name: "t", Handle: handle, Grace: 3 * time.Second}
		done := make(chan error)
		go func() { done <- srv.Serve(ln) }()

		polite, _ := n.DialContext(context.Background(), "tcp", "srv:7")
		defer polite.Close()
		io.WriteString(polite, "last words\n")
		synctest.Wait()
		stuck, _ := n.DialContext(context.Background(), "tcp", "srv:7")
		defer stuck.Close()
		synctest.Wait()
		start := time.Now()
		srv.Shutdown()
		got, _ := io.ReadAll(polite)
		is.Equal(string(got), "last words\n")          // in-flight line still answered, then EOF
		is.Equal((<-forced).Sub(start), 3*time.Second) // the stuck one is closed after exactly the grace period
		is.NoErr(<-done)                               // Serve returns cleanly
		is.Equal(srv.Active(), int64(0))
	})
}
