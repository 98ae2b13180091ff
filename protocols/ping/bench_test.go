package ping_test

import (
	"context"
	"net"
	"testing"
	"time"

	"netstages/actors"
	"netstages/protocols/ping"
)

// plainEcho is the baseline: the smallest Go UDP echo server, one goroutine
// doing ReadFrom/WriteTo, upper-casing like pingd so the work is the same,
// with the socket buffers pingd asks for.
func plainEcho(b *testing.B) (string, func()) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	pc.SetReadBuffer(ping.SocketBuffer)
	pc.SetWriteBuffer(ping.SocketBuffer)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(ping.UpperASCII(buf[:n]), from)
		}
	}()
	return pc.LocalAddr().String(), func() { pc.Close(); <-done }
}

func pingdFused(b *testing.B) (string, func()) { return pingdServer(b, true) }

func pingdStages(b *testing.B) (string, func()) { return pingdServer(b, false) }

// pingdServer serves pingd with its stages fused into the reader's
// goroutine (pingd's default) or with a goroutine per stage.
func pingdServer(b *testing.B, fused bool) (string, func()) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv, err := ping.NewServer(pc, ping.ServerConfig{Fused: fused}, actors.NewMeter())
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(context.Background()) }()
	return pc.LocalAddr().String(), func() { srv.Stop(); <-done }
}

var servers = []struct {
	name  string
	start func(*testing.B) (string, func())
}{{"plain", plainEcho}, {"pingd-fused", pingdFused}, {"pingd-stages", pingdStages}}

// BenchmarkServerRTT is a ping-pong over loopback with a bare client: one
// request in flight, so ns/op is the round trip, and pingd's minus plain's
// is what the four-stage pipeline adds per datagram: fused (one goroutine,
// direct calls) and with a goroutine per stage (three hand-offs).
func BenchmarkServerRTT(b *testing.B) {
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			addr, stop := s.start(b)
			defer stop()
			conn, err := net.Dial("udp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			req := ping.AppendRequest(nil, 1, time.Now(), false, 0)
			buf := make([]byte, 2048)
			b.ResetTimer()
			for b.Loop() {
				conn.Write(req)
				if _, err := conn.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkServerThroughput keeps a window of 32 requests in flight and
// reports echoes per second (the kernel may drop some under load; those are
// re-sent after a 50 ms read timeout and counted as "lost/op").
func BenchmarkServerThroughput(b *testing.B) {
	const window = 32
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			addr, stop := s.start(b)
			defer stop()
			conn, err := net.Dial("udp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			req := ping.AppendRequest(nil, 1, time.Now(), false, 0)
			buf := make([]byte, 2048)
			lost := 0
			b.ResetTimer()
			start := time.Now()
			inFlight := 0
			for i := 0; i < b.N; {
				for inFlight < window && i+inFlight < b.N {
					conn.Write(req)
					inFlight++
				}
				conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if _, err := conn.Read(buf); err != nil {
					lost += inFlight
					inFlight = 0
					continue
				}
				inFlight--
				i++
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "echoes/s")
			b.ReportMetric(float64(lost)/float64(b.N), "lost/op")
		})
	}
}
