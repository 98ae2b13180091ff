package bus

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
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
	conn, async, err := js.asyncPublisher()
	if err != nil {
		js.Close()
		return nil, err
	}
	queue := opts.Queue
	if queue <= 0 {
		queue = 4096
	}
	b.remote = &forwarder{conn: conn, async: async, js: js, queue: make(chan forwarded, queue), log: b.log}
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

// forwarder publishes a copy of every event to JetStream from its own
// goroutine, behind its own bounded queue. It encodes with watermill-nats's
// NATSMarshaler (the wire format every watermill-nats subscriber reads) and
// publishes asynchronously, up to asyncWindow messages awaiting their
// JetStream acks, so one round trip per event does not bound the rate. Its
// methods are no-ops on nil.
type forwarder struct {
	conn    *nats.Conn
	async   nats.JetStreamContext
	pending []nats.PubAckFuture
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
		f.conn.Close()
		f.js.Close()
		if n := f.dropped.Load(); n > 0 {
			f.log.Warn("event bus dropped forwarded events", "dropped", n, "forwarded", f.sent.Load())
		}
	}
}

// asyncWindow is how many forwarded events may await their acks.
const asyncWindow = 1024

func (f *forwarder) run(ctx context.Context, done <-chan struct{}) {
	defer f.settle(ctx)
	for {
		select {
		case m := <-f.queue:
			f.publish(ctx, m)
		case <-ctx.Done():
			return
		case <-done:
			for {
				select {
				case m := <-f.queue:
					f.publish(ctx, m)
				default:
					return
				}
			}
		}
		if len(f.queue) == 0 {
			f.harvest() // idle: count the acks already in
		}
	}
}

func (f *forwarder) publish(ctx context.Context, m forwarded) {
	nm, err := (&wmnats.NATSMarshaler{}).Marshal(m.topic, m.msg)
	if err == nil {
		var fut nats.PubAckFuture
		if fut, err = f.async.PublishMsgAsync(nm); err == nil {
			f.pending = append(f.pending, fut)
		}
	}
	if err != nil {
		f.dropped.Add(1)
		f.log.Debug("event bus: forward", "topic", m.topic, "err", err)
	}
	if len(f.pending) >= asyncWindow {
		f.settle(ctx)
	}
}

// harvest counts the acks that have arrived, without waiting.
func (f *forwarder) harvest() {
	keep := f.pending[:0]
	for _, fut := range f.pending {
		select {
		case <-fut.Ok():
			f.sent.Add(1)
		case err := <-fut.Err():
			f.dropped.Add(1)
			f.log.Debug("event bus: forward", "err", err)
		default:
			keep = append(keep, fut)
		}
	}
	clear(f.pending[len(keep):])
	f.pending = keep
}

// settle waits for the acks of the events in flight and counts them.
func (f *forwarder) settle(ctx context.Context) {
	timeout := time.After(5 * time.Second)
	for i, fut := range f.pending {
		select {
		case <-fut.Ok():
			f.sent.Add(1)
		case err := <-fut.Err():
			f.dropped.Add(1)
			f.log.Debug("event bus: forward", "err", err)
		case <-ctx.Done():
			f.dropped.Add(uint64(len(f.pending) - i))
			f.pending = f.pending[:0]
			return
		case <-timeout:
			f.dropped.Add(uint64(len(f.pending) - i))
			f.pending = f.pending[:0]
			return
		}
	}
	f.pending = f.pending[:0]
}
