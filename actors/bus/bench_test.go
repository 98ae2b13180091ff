package bus_test

import (
	"context"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"netstages/actors/bus"
	"netstages/actors/bus/embedded"
)

// BenchmarkBusEvents measures events per second through the bus: publish
// RequestDone events (waiting when the queue is full, so none is dropped)
// to a local access log; with nats, every event is also stored in
// JetStream and read back by a fleet subscriber (the collector's path).
func BenchmarkBusEvents(b *testing.B) {
	b.Run("mem", func(b *testing.B) { benchBus(b, "", false) })
	for _, fleet := range []bool{false, true} {
		name := "nats-stored" // until JetStream has stored every event
		if fleet {
			name = "nats-fleet" // until a fleet subscriber has read every event
		}
		b.Run(name, func(b *testing.B) {
			srv, err := embedded.Start(embedded.Config{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Shutdown()
			benchBus(b, srv.URL(), fleet)
		})
	}
}

func benchBus(b *testing.B, url string, withFleet bool) {
	events, err := bus.Open(url, bus.Options{Instance: "bench", Queue: b.N + 16})
	if err != nil {
		b.Fatal(err)
	}
	access, err := bus.NewAccessLog(events, io.Discard, bus.FormatCommon)
	if err != nil {
		b.Fatal(err)
	}
	var fleet <-chan struct{}
	var js *bus.JetStream
	var sub *bus.Subscriber
	if withFleet {
		js, err = bus.DialJetStream(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer js.Close()
		sub, err = js.Subscriber(bus.SubscriberConfig{AckAsync: true})
		if err != nil {
			b.Fatal(err)
		}
		msgs, err := sub.Subscribe(context.Background(), bus.TopicRequest)
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		fleet = done
		go func() {
			defer close(done)
			for n := 0; n < b.N; n++ {
				(<-msgs).Ack()
			}
		}()
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = events.Run(context.Background()) })
	wg.Go(func() { _ = access.Run() })
	e := bus.RequestDone{Server: "bench", RemoteHost: "127.0.0.1", Time: time.Now(), Method: "GET",
		Target: "/index.html", Proto: "HTTP/1.1", Status: 200, Bytes: 1024}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		for !events.Publish(e) {
			runtime.Gosched()
		}
	}
	events.Close()
	wg.Wait()
	if fleet != nil {
		<-fleet
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.StopTimer()
	if sub != nil {
		_ = sub.Close()
	}
	st := events.Stats()
	if url != "" && st.Forwarded != uint64(b.N) {
		b.Fatalf("forwarded %d of %d", st.Forwarded, b.N)
	}
}
