package sim_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"netstages/sim"
	"netstages/transport/mem"
)

// allFaults enables every stage, with delays small enough that the
// benchmark measures the pipeline, not the clock.
func allFaults() sim.Faults {
	return sim.Faults{Latency: 100 * time.Microsecond, Jitter: 50 * time.Microsecond, Loss: 0.01,
		Burst: &sim.GilbertElliott{P: 0.001, R: 0.5, H: 0.5, K: 1}, Duplicate: 0.01, Reorder: 0.01,
		ReorderDelay: 100 * time.Microsecond, Corrupt: 0.01, Rate: 100_000_000_000, Queue: 1 << 16, MTU: 1500,
		Down: []sim.Outage{{From: time.Hour, To: 2 * time.Hour}}}
}

// BenchmarkLinkEveryStage pushes 200-byte datagrams through one link
// direction with every fault stage enabled, on the wall clock, while the
// far socket reads them; ns/op is per packet.
func BenchmarkLinkEveryStage(b *testing.B) {
	nw := sim.New(sim.Config{Seed: 1})
	defer nw.Close()
	l, _ := nw.Connect("a", "b", allFaults(), sim.Faults{})
	src, _ := nw.Host("a").Bind("udp", "a:1")
	dst, _ := nw.Host("b").Bind("udp", "b:2")
	defer src.Close()
	go func() {
		for {
			if _, err := dst.Recv(); err != nil {
				return
			}
		}
	}()
	payload := make([]byte, 200)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		src.Send(dst.Addr(), append([]byte(nil), payload...))
	}
	for l.Stats("a").Sent < uint64(b.N) || l.InFlight("a") > 0 {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	dst.Close()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkMemDatagrams is the baseline: the same loop over transport/mem,
// which has no faults and no pipeline.
func BenchmarkMemDatagrams(b *testing.B) {
	n := mem.NewNetwork(0)
	src, _ := n.ListenPacket(context.Background(), "udp", "a:1")
	dst, _ := n.ListenPacket(context.Background(), "udp", "b:2")
	defer src.Close()
	done := make(chan int)
	go func() {
		buf := make([]byte, 2048)
		got := 0
		for {
			if _, _, err := dst.ReadFrom(buf); err != nil {
				done <- got
				return
			}
			got++
		}
	}()
	payload := make([]byte, 200)
	b.ResetTimer()
	for range b.N {
		src.WriteTo(payload, dst.LocalAddr())
	}
	b.StopTimer()
	dst.Close()
	<-done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// TestSimulatedPingAt1000PerSecond runs a 1,000 packets/s request-reply
// exchange across a 10 ms link under synctest for SIM_PING_SECONDS simulated
// seconds (5 by default; BENCHMARKS.md uses 60), checks every reply came
// back, and logs how many simulated seconds pass per wall second.
func TestSimulatedPingAt1000PerSecond(t *testing.T) {
	seconds := 5
	if v, err := strconv.Atoi(os.Getenv("SIM_PING_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	wall := time.Now()
	var replies int
	synctest.Test(t, func(t *testing.T) {
		nw := sim.New(sim.Config{Seed: 1})
		defer nw.Close()
		nw.Connect("laptop", "server", sim.Faults{Latency: 10 * time.Millisecond}, sim.Faults{Latency: 10 * time.Millisecond})
		srv, _ := nw.Host("server").Bind("udp", "server:7")
		cli, _ := nw.Host("laptop").Bind("udp", "laptop:1")
		go func() {
			for {
				d, err := srv.Recv()
				if err != nil {
					return
				}
				srv.Send(d.From, d.Payload)
			}
		}()
		got := make(chan int)
		go func() {
			n := 0
			for {
				if _, err := cli.Recv(); err != nil {
					got <- n
					return
				}
				n++
			}
		}()
		tick := time.NewTicker(time.Millisecond)
		for range seconds * 1000 {
			<-tick.C
			cli.Send(srv.Addr(), []byte("ping"))
		}
		tick.Stop()
		time.Sleep(time.Second)
		cli.Close()
		srv.Close()
		replies = <-got
	})
	elapsed := time.Since(wall)
	if replies != seconds*1000 {
		t.Fatalf("got %d replies, want %d", replies, seconds*1000)
	}
	t.Logf("%d s of simulated ping (%d packets) took %v of wall time: %.0f simulated seconds per wall second",
		seconds, 2*seconds*1000, elapsed, float64(seconds+1)/elapsed.Seconds())
}
