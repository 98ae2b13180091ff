package bus

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Backend names for Open.
const (
	BackendMem = "mem" // watermill GoChannel in the process (default)
)

// Open returns a bus for a -bus flag value. "mem" (or "") is New(opts): a
// bus inside the process. "nats://HOST:PORT" is the same local bus that
// also forwards every event, in its envelope, to that NATS JetStream server
// (watermill-nats), where a collector sees the whole fleet. Local
// subscribers (AccessLog, ConnCounter) still see only this process's events.
// The forwarder has its own bounded queue: a slow or unreachable NATS server
// drops and counts forwarded events (Stats.ForwardDropped), it never blocks
// a connection nor the local subscribers.
func Open(url string, opts Options) (*Bus, error) {
	switch {
	case url == "" || url == BackendMem:
		return New(opts), nil
	case strings.HasPrefix(url, "nats://") || strings.HasPrefix(url, "tls://"):
	default:
		return nil, fmt.Errorf("bus: -bus %q: want mem or nats://HOST:PORT", url)
	}
	b := New(opts)
	js, err := DialJetStream(url, b.log)
	if err != nil {
		return nil, err
	}
	if err := js.EnsureStream(EventStream()); err != nil {
		js.Close()
		return nil, err
	}
	pub, err := js.Publisher(false)
	if err != nil {
		js.Close()
		return nil, err
	}
	queue := opts.Queue
	if queue <= 0 {
		queue = 4096
	}
	b.remote = &forwarder{pub: pub, js: js, queue: make(chan forwarded, queue), log: b.log}
	return b, nil
}

// instanceName is name, or the host name, or "netstages".
func instanceName(name string) string {
	if name != "" {
		return name
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "netstages"
}

type forwarded struct {
	topic string
	msg   *message.Message
}

// forwarder publishes a copy of every event to a remote pub/sub from its own
// goroutine, behind its own bounded queue. Its methods are no-ops on nil.
type forwarder struct {
	pub     message.Publisher
	js      *JetStream
	queue   chan forwarded
	sent    atomic.Uint64
	dropped atomic.Uint64
	log     *slog.Logger
}

func (f *forwarder) forward(topic string, msg *message.Message) {
	if f == nil {
		return
	}
	select {
	case f.queue <- forwarded{topic, msg}:
	default:
		f.dropped.Add(1)
	}
}

func (f *forwarder) stats(st *Stats) {
	if f == nil {
		return
	}
	st.Forwarded, st.ForwardDropped = f.sent.Load(), f.dropped.Load()
}

// start runs the forwarding goroutine; the returned stop publishes what is
// queued (unless ctx is cancelled), then closes the publisher and the
// connection.
func (f *forwarder) start(ctx context.Context) (stop func()) {
	if f == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { f.run(ctx, done) })
	return func() {
		close(done)
		wg.Wait()
		if err := f.pub.Close(); err != nil {
			f.log.Warn("event bus: close forwarder", "err", err)
		}
		f.js.Close()
		if n := f.dropped.Load(); n > 0 {
			f.log.Warn("event bus dropped forwarded events", "dropped", n, "forwarded", f.sent.Load())
		}
	}
}

func (f *forwarder) run(ctx context.Context, done <-chan struct{}) {
	for {
		select {
		case m := <-f.queue:
			f.publish(m)
		case <-ctx.Done():
			return
		case <-done:
			for {
				select {
				case m := <-f.queue:
					f.publish(m)
				default:
					return
				}
			}
		}
	}
}

func (f *forwarder) publish(m forwarded) {
	if err := f.pub.Publish(m.topic, m.msg); err != nil {
		f.dropped.Add(1)
		f.log.Debug("event bus: forward", "topic", m.topic, "err", err)
		return
	}
	f.sent.Add(1)
}
