package ping_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"netstages/actors"
	"netstages/protocols/ping"
	"netstages/transport"
	"netstages/transport/mem"
)

// startServer serves pingd on network at addr; stop stops it and waits.
func startServer(t *testing.T, network transport.Network, addr string, cfg ping.ServerConfig) (*ping.Server, net.Addr, func()) {
	t.Helper()
	pc, err := network.ListenPacket(context.Background(), "udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ping.NewServer(pc, cfg, actors.NewMeter())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(context.Background()) }()
	return srv, pc.LocalAddr(), func() {
		srv.Stop()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	}
}

// memClient runs a ping from a new mem socket to addr and returns its
// summary and printed lines.
func memClient(t *testing.T, n *mem.Network, from string, to net.Addr, cfg ping.ClientConfig) (ping.Summary, string) {
	t.Helper()
	pc, err := n.ListenPacket(context.Background(), "udp", from)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c, err := ping.NewClient(ping.Unconnected(pc, to), cfg, ping.TextPrinter(&out, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatalf("client: %v", err)
	}
	return c.Summary(), out.String()
}

func countTrue(v []bool) (n uint64) {
	for _, b := range v {
		if b {
			n++
		}
	}
	return n
}

func TestSeededLossOverMemIsExactlyTheDraws(t *testing.T) {
	forEachMode(t, func(t *testing.T, fused bool) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			n := mem.NewNetwork(0)
			srv, addr, stop := startServer(t, n, "pingd:12000", ping.ServerConfig{Fused: fused, Loss: 0.3, Seed: 1})
			defer stop()
			start := time.Now()
			sum, out := memClient(t, n, "client:5000", addr, ping.ClientConfig{Fused: fused, Count: 100, Interval: 10 * msec, Timeout: 200 * msec})
			drops := ping.Drops(1, 0.3, 100)
			is.Equal(sum.Transmitted, uint64(100))
			is.Equal(sum.Lost, countTrue(drops)) // the n-th request's fate is the n-th draw
			is.Equal(sum.Received, 100-countTrue(drops))
			is.Equal(srv.Counts().Dropped, countTrue(drops))
			for i, dropped := range drops {
				if dropped {
					is.True(strings.Contains(out, "request timeout for seq="+itoa(i+1)+"\n")) // each drop reported
				}
			}
			// The run lasts the schedule plus one timeout at most: 99 intervals + 200 ms.
			is.True(time.Since(start) <= 99*10*msec+200*msec+tickSlack)
			is.Equal(sum.Duplicates+sum.Late+sum.Unmatched+sum.Malformed, uint64(0))
		})
	})
}

// tickSlack is how late the reader's clock may notice the last timeout.
const tickSlack = 20 * msec

func itoa(i int) string { return strconv.Itoa(i) }

func TestDelayedEchoesDoNotHoldUpOthers(t *testing.T) {
	forEachMode(t, func(t *testing.T, fused bool) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			n := mem.NewNetwork(0)
			_, addr, stop := startServer(t, n, "pingd:12000", ping.ServerConfig{Fused: fused, Delay: 100 * msec})
			defer stop()
			var wg sync.WaitGroup
			sums := make([]ping.Summary, 3)
			for i := range sums {
				wg.Go(func() {
					sums[i], _ = memClient(t, n, "client:"+itoa(5000+i), addr, ping.ClientConfig{Fused: fused, Count: 20, Interval: 10 * msec, Timeout: time.Second})
				})
			}
			wg.Wait()
			for _, sum := range sums {
				is.Equal(sum.Received, uint64(20))
				is.Equal(sum.RTT.Min, 100.0) // every echo waited exactly its own delay:
				is.Equal(sum.RTT.Max, 100.0) // none queued behind another (10 ms apart, 3 clients)
			}
		})
	})
}

func TestDelayedEchoesAreBounded(t *testing.T) {
	cases := []struct {
		name     string
		srv      ping.ServerConfig
		size     int
		received uint64
	}{
		{"count", ping.ServerConfig{MaxDelayed: 3}, 0, 3},            // three waited their second
		{"bytes", ping.ServerConfig{MaxDelayedBytes: 2500}, 1000, 2}, // two 1000-byte echoes fit in 2500 bytes
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, fused bool) {
				synctest.Test(t, func(t *testing.T) {
					is := is.New(t)
					n := mem.NewNetwork(0)
					cfg := tc.srv
					cfg.Fused, cfg.Delay = fused, time.Second
					srv, addr, stop := startServer(t, n, "pingd:12000", cfg)
					defer stop()
					sum, _ := memClient(t, n, "client:1", addr, ping.ClientConfig{Fused: fused, Count: 5, Interval: msec, Timeout: 2 * time.Second, Size: tc.size})
					is.Equal(sum.Received, tc.received) // as many as the bound holds
					is.Equal(sum.Lost, 5-tc.received)   // the rest found the queue full
					is.Equal(srv.Counts().Overflow, 5-tc.received)
				})
			})
		})
	}
}

func TestJitterReordersAndStaysInRange(t *testing.T) {
	forEachMode(t, func(t *testing.T, fused bool) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			n := mem.NewNetwork(0)
			_, addr, stop := startServer(t, n, "pingd:12000", ping.ServerConfig{Fused: fused, Delay: 100 * msec, Jitter: 50 * msec, Seed: 7})
			defer stop()
			sum, out := memClient(t, n, "client:1", addr, ping.ClientConfig{Fused: fused, Count: 50, Interval: 10 * msec, Timeout: time.Second})
			is.Equal(sum.Received, uint64(50))
			is.True(sum.RTT.Min >= 50 && sum.RTT.Max <= 150) // delay ± jitter
			is.True(sum.Reordered > 0)                       // 10 ms apart with ±50 ms: replies overtake each other
			is.True(sum.RTT.Jitter > 0)
			is.Equal(strings.Count(out, "(reordered)"), int(sum.Reordered))
		})
	})
}

func TestLateReplyIsReportedTwiceButCountedOnce(t *testing.T) {
	forEachMode(t, func(t *testing.T, fused bool) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			n := mem.NewNetwork(0)
			// A throwaway echo that holds seq 2 for 300 ms.
			pc, _ := n.ListenPacket(context.Background(), "udp", "slow:1")
			defer pc.Close()
			go func() {
				buf := make([]byte, 1500)
				for {
					k, from, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					msg := append([]byte(nil), buf[:k]...)
					if m, _ := ping.ParseReply(msg); m.Seq == 2 {
						time.AfterFunc(300*msec, func() { pc.WriteTo(msg, from) })
						continue
					}
					pc.WriteTo(msg, from)
				}
			}()
			sum, out := memClient(t, n, "client:1", pc.LocalAddr(), ping.ClientConfig{Fused: fused, Count: 10, Interval: 50 * msec, Timeout: 100 * msec})
			is.Equal(sum.Received, uint64(9))
			is.Equal(sum.Late, uint64(1))
			is.Equal(sum.Lost, uint64(0)) // late is not lost
			is.True(strings.Contains(out, "request timeout for seq=2\n"))
			is.True(strings.Contains(out, "late reply from slow:1: seq=2 bytes="))
			is.True(strings.Contains(out, " time=300.000 ms (reordered)\n"))                    // its real RTT, and after later replies
			is.True(strings.Index(out, "timeout for seq=2") < strings.Index(out, "late reply")) // timeout first
		})
	})
}

func TestServerDropsMalformedAndEchoesAnythingAfterPing(t *testing.T) {
	forEachMode(t, func(t *testing.T, fused bool) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			n := mem.NewNetwork(0)
			srv, addr, stop := startServer(t, n, "pingd:12000", ping.ServerConfig{Fused: fused})
			defer stop()
			pc, _ := n.ListenPacket(context.Background(), "udp", "raw:1")
			defer pc.Close()
			big := append([]byte("Ping 1 "), bytes.Repeat([]byte("z"), ping.MaxDatagram-7)...)
			for _, d := range [][]byte{[]byte("hello"), []byte("PING 1 2"), {}, []byte("Ping 1 08:35:38"), []byte("Ping ???"), big} {
				pc.WriteTo(d, addr)
			}
			buf := make([]byte, ping.MaxDatagram+10)
			var got []string
			for range 3 {
				k, _, err := pc.ReadFrom(buf)
				is.NoErr(err)
				got = append(got, string(buf[:k]))
			}
			is.Equal(got[0], "PING 1 08:35:38")                                 // the course client's message, upper-cased
			is.Equal(got[1], "PING ???")                                        // whatever follows "Ping "
			is.Equal(got[2], "PING 1 "+strings.Repeat("Z", ping.MaxDatagram-7)) // the largest datagram, whole
			synctest.Wait()
			c := srv.Counts()
			is.Equal(c.Malformed, uint64(3)) // hello, PING (wrong case for a request), empty
			is.Equal(c.Echoed, uint64(3))
			is.Equal(c.Received, uint64(6))
		})
	})
}

func TestEchoSameKeepsTheCase(t *testing.T) {
	forEachMode(t, func(t *testing.T, fused bool) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			n := mem.NewNetwork(0)
			_, addr, stop := startServer(t, n, "pingd:12000", ping.ServerConfig{Fused: fused, Echo: ping.EchoSame})
			defer stop()
			pc, _ := n.ListenPacket(context.Background(), "udp", "raw:1")
			defer pc.Close()
			pc.WriteTo([]byte("Ping 1 abc"), addr)
			buf := make([]byte, 64)
			k, _, err := pc.ReadFrom(buf)
			is.NoErr(err)
			is.Equal(string(buf[:k]), "Ping 1 abc")
		})
	})
}

func TestHeartbeatGapDownAndBackAreLogged(t *testing.T) {
	forEachMode(t, func(t *testing.T, fused bool) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			n := mem.NewNetwork(0)
			var logs syncBuffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			_, addr, stop := startServer(t, n, "pingd:12000", ping.ServerConfig{Fused: fused, HeartbeatTimeout: 300 * msec, Log: log})
			defer stop()
			pc, _ := n.ListenPacket(context.Background(), "udp", "beater:9")
			defer pc.Close()
			for _, seq := range []uint64{1, 2, 5} {
				pc.WriteTo(ping.AppendRequest(nil, seq, time.Now(), true, 0), addr)
				time.Sleep(50 * msec)
			}
			synctest.Wait()
			is.True(strings.Contains(logs.String(), `msg="lost 2 heartbeats from beater:9 (seq 3-4)"`))
			time.Sleep(400 * msec)
			synctest.Wait()
			is.True(strings.Contains(logs.String(), `msg="client beater:9 down" last_seq=5`)) // silent for the timeout
			pc.WriteTo(ping.AppendRequest(nil, 6, time.Now(), true, 0), addr)
			synctest.Wait()
			is.True(strings.Contains(logs.String(), `msg="client beater:9 back" seq=6`))
			is.Equal(strings.Count(logs.String(), `down"`), 1) // reported once
		})
	})
}

// syncBuffer is a bytes.Buffer safe for the server's and the test's
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestInterruptedRunCountsOutstandingAsLost(t *testing.T) {
	forEachMode(t, func(t *testing.T, fused bool) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			n := mem.NewNetwork(0)
			pc, _ := n.ListenPacket(context.Background(), "udp", "client:1")
			sink, _ := n.ListenPacket(context.Background(), "udp", "void:1") // reads nothing, answers nothing
			defer sink.Close()
			c, err := ping.NewClient(ping.Unconnected(pc, sink.LocalAddr()), ping.ClientConfig{Fused: fused, Interval: 100 * msec}, ping.TextPrinter(&bytes.Buffer{}, true), nil)
			is.NoErr(err)
			ctx, cancel := context.WithTimeout(context.Background(), 1050*msec) // -c 0 until "Ctrl-C"
			defer cancel()
			is.NoErr(c.Run(ctx)) // an interrupt is not an error
			sum := c.Summary()
			is.Equal(sum.Transmitted, uint64(11)) // at 0, 100, …, 1000 ms
			is.Equal(sum.Lost, uint64(11))
			is.True(near(sum.LossPercent, 100))
			is.True(near(sum.Elapsed, 1050))
		})
	})
}

// TestLossOverUDPIsWithinTheBinomialInterval runs pingd -loss 0.3 -seed 1
// and ping over real loopback sockets.
func TestLossOverUDPIsWithinTheBinomialInterval(t *testing.T) {
	forEachMode(t, func(t *testing.T, fused bool) {
		is := is.New(t)
		_, addr, stop := startServer(t, &transport.System{}, "127.0.0.1:0", ping.ServerConfig{Fused: fused, Loss: 0.3, Seed: 1})
		defer stop()
		conn, err := net.Dial("udp", addr.String())
		is.NoErr(err) // dial
		const count = 300
		c, err := ping.NewClient(ping.Connected(conn), ping.ClientConfig{Fused: fused, Count: count, Interval: msec, Timeout: 500 * msec}, ping.TextPrinter(&bytes.Buffer{}, false), nil)
		is.NoErr(err)
		is.NoErr(c.Run(context.Background()))
		sum := c.Summary()
		is.Equal(sum.Transmitted, uint64(count))
		// 99.9% interval: p ± 3.29·sqrt(p(1−p)/n).
		loss := float64(sum.Lost) / count
		half := 3.29 * math.Sqrt(0.3*0.7/count)
		is.True(loss > 0.3-half && loss < 0.3+half) // loss within the binomial interval
		is.Equal(sum.Lost+sum.Received+sum.Late, uint64(count))
		is.True(sum.RTT != nil && sum.RTT.Min > 0)
	})
}

// TestReorderAndDuplicatesFromAThrowawayServer: a server written here reads
// all six probes before answering (so sends never waited for replies), then
// answers 2, 1, 3, 3, 6, 5, a garbage datagram and a reply to seq 999.
func TestReorderAndDuplicatesFromAThrowawayServer(t *testing.T) {
	forEachMode(t, func(t *testing.T, fused bool) {
		is := is.New(t)
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		is.NoErr(err)
		defer pc.Close()
		served := make(chan error, 1)
		go func() {
			reqs := map[uint64][]byte{}
			var from net.Addr
			buf := make([]byte, 1500)
			for len(reqs) < 6 {
				k, a, err := pc.ReadFrom(buf)
				if err != nil {
					served <- err
					return
				}
				m, _ := ping.ParseReply(buf[:k])
				reqs[m.Seq], from = ping.UpperASCII(buf[:k]), a
			}
			for _, seq := range []uint64{2, 1, 3, 3, 6, 5} {
				pc.WriteTo(reqs[seq], from)
			}
			pc.WriteTo([]byte("garbage"), from)
			pc.WriteTo([]byte("PING 999 X"), from)
			served <- nil
		}()
		conn, err := net.Dial("udp", pc.LocalAddr().String())
		is.NoErr(err)
		var out bytes.Buffer
		c, err := ping.NewClient(ping.Connected(conn), ping.ClientConfig{Fused: fused, Count: 6, Interval: 5 * msec, Timeout: 300 * msec}, ping.JSONPrinter(&out, false), nil)
		is.NoErr(err)
		is.NoErr(c.Run(context.Background()))
		is.NoErr(<-served)
		sum := c.Summary()
		is.Equal(sum.Received, uint64(5))   // 1, 2, 3, 5, 6
		is.Equal(sum.Duplicates, uint64(1)) // 3 again
		is.Equal(sum.Lost, uint64(1))       // 4 never answered
		is.Equal(sum.Reordered, uint64(2))  // 1 after 2, 5 after 6
		is.Equal(sum.Unmatched, uint64(1))  // 999
		is.Equal(sum.Malformed, uint64(1))  // garbage
		is.True(strings.Contains(out.String(), `{"type":"duplicate","seq":3,"from":"`+pc.LocalAddr().String()+`","bytes":24,"rtt_ms":`))
		is.True(strings.Contains(out.String(), `{"type":"timeout","seq":4}`))
		is.True(strings.Contains(out.String(), `{"type":"unmatched","seq":999,`))
	})
}

func TestRefusedPortIsECONNREFUSED(t *testing.T) {
	forEachMode(t, func(t *testing.T, fused bool) {
		is := is.New(t)
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		is.NoErr(err)
		addr := pc.LocalAddr().String()
		pc.Close() // nothing listens there now
		conn, err := net.Dial("udp", addr)
		is.NoErr(err)
		c, err := ping.NewClient(ping.Connected(conn), ping.ClientConfig{Fused: fused, Count: 3, Interval: 10 * msec, Timeout: 100 * msec}, ping.TextPrinter(&bytes.Buffer{}, true), nil)
		is.NoErr(err)
		err = c.Run(context.Background())
		is.True(errors.Is(err, syscall.ECONNREFUSED)) // ICMP port unreachable on a connected socket
	})
}

func TestGraphsAreTheStages(t *testing.T) {
	is := is.New(t)
	n := mem.NewNetwork(0)
	pc, _ := n.ListenPacket(context.Background(), "udp", "a:1")
	defer pc.Close()
	srv, err := ping.NewServer(pc, ping.ServerConfig{}, nil)
	is.NoErr(err)
	is.Equal(names(srv.Graph()), "reader parser handler writer") // no framer: a datagram is a unit
	is.Equal(srv.Graph().Edges[2].Buffer, 64)                    // a goroutine per stage: channels
	fused, err := ping.NewServer(pc, ping.ServerConfig{Fused: true}, nil)
	is.NoErr(err)
	is.Equal(names(fused.Graph()), "reader parser handler writer") // fused: the same stages
	for _, e := range fused.Graph().Edges {
		is.Equal(e.Buffer, -1) // every edge after the reader is a direct call
	}
	c, err := ping.NewClient(ping.Unconnected(pc, pc.LocalAddr()), ping.ClientConfig{}, ping.TextPrinter(&bytes.Buffer{}, true), nil)
	is.NoErr(err)
	is.Equal(names(c.Graph()), "pacer sender reader parser handler writer")
	is.Equal(c.Graph().Edges[0].Type, "ping.Probe")
}

func names(g actors.Graph) string {
	var s []string
	for _, n := range g.Nodes {
		s = append(s, n.Name)
	}
	return strings.Join(s, " ")
}

func TestBadConfigsAreRefused(t *testing.T) {
	is := is.New(t)
	is.True(ping.ServerConfig{Loss: 1.5}.Validate() != nil)
	is.True(ping.ServerConfig{Loss: math.NaN()}.Validate() != nil) // NaN would silently never drop
	is.True(ping.ServerConfig{Echo: "lower"}.Validate() != nil)
	is.True(ping.ServerConfig{Delay: -1}.Validate() != nil)
	is.True(ping.ClientConfig{Count: -1}.Validate() != nil)
	is.True(ping.ClientConfig{Size: ping.MaxDatagram + 1}.Validate() != nil)
	is.NoErr(ping.ClientConfig{Count: 3, Size: 100}.Validate())
}

// TestOneMillisecondScheduleIsKept: 1,000 probes at -i 1ms to a server that
// never answers go out on time, so the run lasts 999 ms of sending plus one
// timeout (and at most a tick).
func TestOneMillisecondScheduleIsKept(t *testing.T) {
	forEachMode(t, func(t *testing.T, fused bool) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			n := mem.NewNetwork(0)
			void, _ := n.ListenPacket(context.Background(), "udp", "void:1")
			defer void.Close()
			go func() { // reads everything, answers nothing
				buf := make([]byte, 100)
				for {
					if _, _, err := void.ReadFrom(buf); err != nil {
						return
					}
				}
			}()
			start := time.Now()
			sum, _ := memClient(t, n, "client:1", void.LocalAddr(), ping.ClientConfig{Fused: fused, Count: 1000, Interval: msec, Timeout: 50 * msec})
			took := time.Since(start)
			is.Equal(sum.Transmitted, uint64(1000))
			is.Equal(sum.Lost, uint64(1000))
			is.True(took >= 999*msec+50*msec && took <= 999*msec+50*msec+5*msec) // 1,000 sends/s, then the last timeout
		})
	})
}

func TestDatagramsFromOthersAreUnmatched(t *testing.T) {
	forEachMode(t, func(t *testing.T, fused bool) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			n := mem.NewNetwork(0)
			_, addr, stop := startServer(t, n, "pingd:12000", ping.ServerConfig{Fused: fused, Delay: 20 * msec})
			defer stop()
			intruder, _ := n.ListenPacket(context.Background(), "udp", "intruder:1")
			defer intruder.Close()
			go func() {
				time.Sleep(5 * msec)
				intruder.WriteTo([]byte("PING 1 forged"), mem.Addr{Net: "memgram", HostPort: "client:7"}) // a forged reply to seq 1
			}()
			sum, out := memClient(t, n, "client:7", addr, ping.ClientConfig{Fused: fused, Count: 2, Interval: 10 * msec, Timeout: 100 * msec})
			is.Equal(sum.Received, uint64(2))  // the real replies still count
			is.Equal(sum.Unmatched, uint64(1)) // the forged one does not
			is.True(strings.Contains(out, "unmatched datagram from intruder:1 (13 bytes, not the target)\n"))
		})
	})
}

// TestOverIPv6Loopback covers the ipv6 recvmmsg/sendmmsg path.
func TestOverIPv6Loopback(t *testing.T) {
	forEachMode(t, func(t *testing.T, fused bool) {
		is := is.New(t)
		_, addr, stop := startServer(t, &transport.System{}, "[::1]:0", ping.ServerConfig{Fused: fused})
		defer stop()
		conn, err := net.Dial("udp", addr.String())
		is.NoErr(err) // dial ::1
		c, err := ping.NewClient(ping.Connected(conn), ping.ClientConfig{Fused: fused, Count: 20, Interval: msec, Timeout: time.Second}, ping.TextPrinter(&bytes.Buffer{}, true), nil)
		is.NoErr(err)
		is.NoErr(c.Run(context.Background()))
		is.Equal(c.Summary().Received, uint64(20))
	})
}

// forEachMode runs a server test with the stages fused into the reader's
// goroutine and with a goroutine per stage: the behaviour must not change.
func forEachMode(t *testing.T, test func(t *testing.T, fused bool)) {
	for _, fused := range []bool{true, false} {
		name := "goroutine-per-stage"
		if fused {
			name = "fused"
		}
		t.Run(name, func(t *testing.T) { test(t, fused) })
	}
}
