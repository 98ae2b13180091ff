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
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchOutbox(b, workers, 0, 0) })
	}
	// One SMTP session per message instead of a kept one.
	b.Run("workers=1/session-per-message", func(b *testing.B) { benchOutbox(b, 1, -1, 0) })
	// A slow server: the workers wait rather than compute.
	for _, workers := range []int{1, 3} {
		b.Run(fmt.Sprintf("workers=%d/server-10ms", workers), func(b *testing.B) { benchOutbox(b, workers, 0, 10*time.Millisecond) })
	}
}

func benchOutbox(b *testing.B, workers int, keep, serverDelay time.Duration) {
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
	s.dataDelay = serverDelay
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
	b.ResetTimer()
	start := time.Now()
	for i := range workers {
		cfg := workerConfig(js, addr, fmt.Sprintf("bench-%d", i))
		cfg.AckWait = 30 * time.Second
		cfg.KeepSession = keep
		w, err := outbox.NewWorker(cfg)
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() { _ = w.Run(ctx) })
	}
	for s.distinct() < b.N {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	cancel()
	wg.Wait()
}
