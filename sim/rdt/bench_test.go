package rdt_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"netstages/sim"
	"netstages/sim/rdt"
	"netstages/transport/mem"
)

const tenMiB = 10 << 20

// copyThrough writes n bytes into c and reads them at s; it returns when the
// last byte has arrived.
func copyThrough(b *testing.B, c, s net.Conn, n int) {
	buf := make([]byte, 64<<10)
	go func() {
		for left := n; left > 0; left -= len(buf) {
			c.Write(buf[:min(len(buf), left)])
		}
	}()
	if _, err := io.CopyN(io.Discard, s, int64(n)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTenMiB moves 10 MiB per op over a perfect sim stream (a
// lossless, zero-latency link without an MTU, no retransmission machinery)
// and over Selective Repeat on the same link, each with 1200-byte and 64 KiB
// segments, and over transport/mem, on the wall clock.
func BenchmarkTenMiB(b *testing.B) {
	for _, v := range []struct {
		arq rdt.ARQ
		mss int
	}{{rdt.Perfect, 1200}, {rdt.Perfect, 64 << 10}, {rdt.SelectiveRepeat, 1200}, {rdt.SelectiveRepeat, 64 << 10}} {
		b.Run(fmt.Sprintf("sim-%s-mss%d", v.arq, v.mss), func(b *testing.B) {
			w := newWorldB(b, rdt.Config{ARQ: v.arq, MSS: v.mss, Window: 256, RcvBuf: 4 << 20, SndBuf: 1 << 20})
			defer w.net.Close()
			c, s := w.pipeB(b)
			b.SetBytes(tenMiB)
			b.ResetTimer()
			for range b.N {
				copyThrough(b, c, s, tenMiB)
			}
			b.StopTimer()
			c.Close()
			s.Close()
			w.client.Wait(context.Background())
			w.server.Wait(context.Background())
		})
	}
	b.Run("mem", func(b *testing.B) {
		n := mem.NewNetwork(0)
		ln, _ := n.Listen(context.Background(), "tcp", "server:1")
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() { c, _ := ln.Accept(); accepted <- c }()
		c, _ := n.DialContext(context.Background(), "tcp", "server:1")
		s := <-accepted
		b.SetBytes(tenMiB)
		b.ResetTimer()
		for range b.N {
			copyThrough(b, c, s, tenMiB)
		}
		b.StopTimer()
		c.Close()
		s.Close()
	})
}

func newWorldB(b *testing.B, cfg rdt.Config) *world {
	nw := sim.New(sim.Config{Seed: 1})
	l, _ := nw.Connect("client", "server", sim.Faults{}, sim.Faults{})
	c, err := rdt.New(nw.Host("client"), cfg)
	if err != nil {
		b.Fatal(err)
	}
	s, _ := rdt.New(nw.Host("server"), cfg)
	return &world{net: nw, link: l, client: c, server: s}
}

func (w *world) pipeB(b *testing.B) (net.Conn, net.Conn) {
	ln, err := w.server.Listen(context.Background(), "tcp", "server:80")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); accepted <- c }()
	c, err := w.client.DialContext(context.Background(), "tcp", "server:80")
	if err != nil {
		b.Fatal(err)
	}
	return c, <-accepted
}

// TestGoodputInSimulatedTime moves 256 KiB one way across a link with 10 ms
// latency each way, 10 Mbit/s and 2% loss, for each variant, under synctest:
// the goodput is in simulated time, so it is exact and the same every run.
// It logs the table BENCHMARKS.md records and checks the textbook ordering.
func TestGoodputInSimulatedTime(t *testing.T) {
	const size = 256 << 10
	goodput := map[rdt.ARQ]float64{}
	for _, arq := range variants {
		synctest.Test(t, func(t *testing.T) {
			f := sim.Faults{Latency: 10 * time.Millisecond, Rate: 10_000_000, Queue: 64, Loss: 0.02}
			w := newWorld(t, 1, rdt.Config{ARQ: arq, Window: 32, Settle: true}, f, sim.Faults{Latency: 10 * time.Millisecond, Loss: 0.02})
			defer w.net.Close()
			c, s, stop := w.pipe(t)
			start := time.Now()
			go c.Write(make([]byte, size))
			if _, err := io.CopyN(io.Discard, s, size); err != nil {
				t.Fatal(err)
			}
			elapsed := time.Since(start)
			goodput[arq] = size * 8 / elapsed.Seconds()
			st := c.(*rdt.Conn).Stats()
			t.Logf("%-4s 256 KiB in %v simulated: goodput %.3f Mbit/s, %d retransmits, %d timeouts",
				arq, elapsed.Round(time.Millisecond), goodput[arq]/1e6, st.Retransmits, st.Timeouts)
			stop()
		})
	}
	if !(goodput[rdt.SelectiveRepeat] > goodput[rdt.GoBackN] && goodput[rdt.GoBackN] > goodput[rdt.StopAndWait]) {
		t.Errorf("want SR > GBN > stop-and-wait at 2%% loss, got %v", goodput)
	}
}
