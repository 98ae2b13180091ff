package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"netstages/actors/bus"
	"netstages/actors/bus/embedded"
	"netstages/protocols/smtp/outbox"
)

// BenchmarkOutbox measures delivered messages per second from the outbox
// into a go-smtp sink on 127.0.0.1, with 1 and 3 workers (in this process;
// each keeps its SMTP session between messages), and with 1 worker opening
// one session per message; then, 1 and 3 workers against a server that
// takes 10 ms to answer each end of data (latency-bound rather than
// CPU-bound). The messages are enqueued before the timer starts.
func BenchmarkOutbox(b *testing.B) {
	for _, workers := range []int{1, 3} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchOutbox(b, benchCase{workers: workers}) })
	}
	// One SMTP session per message instead of a kept one.
	b.Run("workers=1/session-per-message", func(b *testing.B) { benchOutbox(b, benchCase{workers: 1, keep: -1}) })
	// A slow server: the workers wait rather than compute.
	for _, workers := range []int{1, 3} {
		b.Run(fmt.Sprintf("workers=%d/server-10ms", workers), func(b *testing.B) {
			benchOutbox(b, benchCase{workers: workers, serverDelay: 10 * time.Millisecond})
		})
	}
}

// benchCase is one BenchmarkOutbox configuration.
type benchCase struct {
	workers     int
	keep        time.Duration // Config.KeepSession
	serverDelay time.Duration // the sink's delay before each end-of-data reply
	inFlight    int           // Config.MaxInFlight
}

func benchOutbox(b *testing.B, c benchCase) {
	srv, err := embedded.Start(embedded.Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	js, err := bus.DialJetStream(srv.URL(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer js.Close()
	if err := js.EnsureStream(outbox.Stream()); err != nil {
		b.Fatal(err)
	}
	s := newSink()
	s.dataDelay = c.serverDelay
	addr := s.startB(b)
	pub, err := js.Publisher(true)
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		to := fmt.Sprintf("b%d@example.net", i)
		if _, err := outbox.Enqueue(pub, "a@example.org", []string{to}, message(fmt.Sprintf("b%d-%d@example.org", i, time.Now().UnixNano()), to)); err != nil {
			b.Fatal(err)
		}
	}
	_ = pub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var started []*outbox.Worker
	b.ResetTimer()
	start := time.Now()
	for i := range c.workers {
		cfg := workerConfig(js, addr, fmt.Sprintf("bench-%d", i))
		cfg.AckWait = 30 * time.Second
		cfg.KeepSession = c.keep
		cfg.MaxInFlight = c.inFlight
		w, err := outbox.NewWorker(cfg)
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() { _ = w.Run(ctx) })
		started = append(started, w)
	}
	for s.distinct() < b.N {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	cancel()
	wg.Wait()
	// The busiest worker's share of the messages (1 = it sent them all).
	var most uint64
	for _, w := range started {
		most = max(most, w.Stats().Sent)
	}
	b.ReportMetric(float64(most)/float64(b.N), "busiest-share")
}
