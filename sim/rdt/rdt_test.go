package rdt_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"
	"golang.org/x/net/nettest"

	"netstages/sim"
	"netstages/sim/rdt"
	"netstages/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var variants = []rdt.ARQ{rdt.StopAndWait, rdt.GoBackN, rdt.SelectiveRepeat}

// world is a client and a server host joined by one link, each with a stack.
type world struct {
	net            *sim.Network
	link           *sim.Link
	client, server *rdt.Stack
}

func newWorld(t *testing.T, seed uint64, cfg rdt.Config, up, down sim.Faults) *world {
	t.Helper()
	nw := sim.New(sim.Config{Seed: seed, Trace: true, Settle: cfg.Settle})
	l, err := nw.Connect("client", "server", up, down)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rdt.New(nw.Host("client"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := rdt.New(nw.Host("server"), cfg)
	return &world{net: nw, link: l, client: c, server: s}
}

// pipe dials a fresh connection and returns both ends.
func (w *world) pipe(t *testing.T) (client, server net.Conn, stop func()) {
	t.Helper()
	ctx := context.Background()
	ln, err := w.server.Listen(ctx, "tcp", "server:80")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	client, err = w.client.DialContext(ctx, "tcp", "server:80")
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	ln.Close()
	return client, server, func() {
		client.Close()
		server.Close()
		w.client.Wait(context.Background())
		w.server.Wait(context.Background())
	}
}

func TestConnPassesNettestOverALosslessLink(t *testing.T) {
	for _, arq := range []rdt.ARQ{rdt.SelectiveRepeat, rdt.GoBackN, rdt.StopAndWait, rdt.Perfect} {
		t.Run(string(arq), func(t *testing.T) {
			w := newWorld(t, 1, rdt.Config{ARQ: arq, MinRTO: 20 * time.Millisecond}, sim.Faults{}, sim.Faults{})
			defer w.net.Close()
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				c1, c2, stop = w.pipe(t)
				return c1, c2, stop, nil
			})
		})
	}
}

func lossy() sim.Faults {
	return sim.Faults{Latency: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, Loss: 0.1, Duplicate: 0.05,
		Reorder: 0.05, Corrupt: 0.05, Rate: 20_000_000, Queue: 64}
}

// exchange sends size random bytes each way at once and returns what each
// end read.
func exchange(t *testing.T, c, s net.Conn, size int) (toServer, toClient, gotAtServer, gotAtClient []byte) {
	r := rand.New(rand.NewPCG(1, 2))
	toServer, toClient = make([]byte, size), make([]byte, size)
	for i := range toServer {
		toServer[i], toClient[i] = byte(r.Uint32()), byte(r.Uint32())
	}
	send := func(conn net.Conn, b []byte) {
		conn.Write(b)
		conn.(transport.CloseWriter).CloseWrite()
	}
	go send(c, toServer)
	go send(s, toClient)
	atServer := make(chan []byte)
	go func() { b, _ := io.ReadAll(s); atServer <- b }()
	gotAtClient, _ = io.ReadAll(c)
	return toServer, toClient, <-atServer, gotAtClient
}

func TestEveryByteExactlyOnceOverALossyLink(t *testing.T) {
	for _, arq := range variants {
		t.Run(string(arq), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := is.New(t)
				w := newWorld(t, 5, rdt.Config{ARQ: arq, Window: 16}, lossy(), lossy())
				defer w.net.Close()
				c, s, stop := w.pipe(t)
				size := 300 << 10
				if arq == rdt.StopAndWait {
					size = 40 << 10
				}
				a, b, gotA, gotB := exchange(t, c, s, size)
				is.True(bytes.Equal(a, gotA)) // client → server exact
				is.True(bytes.Equal(b, gotB)) // server → client exact
				stop()
				st := w.link.Stats("client")
				is.True(st.Dropped[sim.DropLoss] > 0 && st.Duplicated > 0 && st.Reordered > 0 && st.Corrupted > 0) // every fault struck
				cs := c.(*rdt.Conn).Stats()
				is.True(cs.Retransmits > 0) // losses were repaired
				is.True(cs.Corrupt > 0)     // corrupt segments were caught
				is.Equal(cs.Err, "")        // clean end
			})
		})
	}
}
