package bus

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
)

// Options configure a Bus.
type Options struct {
	// Queue is how many events may wait to be published; beyond it events
	// are dropped and counted. Default 4096.
	Queue int
	// Logger receives watermill's logs and the drop report; nil discards.
	Logger *slog.Logger
	// Instance names this process in every event's envelope (e.g.
	// "web-1"); default the host name.
	Instance string
}

// quieter moves watermill's chatter one level down, so -v shows our own
// debug logs and watermill's only at trace level.
func quieter() map[slog.Level]slog.Level {
	return map[slog.Level]slog.Level{
		watermill.LevelTrace: watermill.LevelTrace - 4,
		slog.LevelDebug:      watermill.LevelTrace,
		slog.LevelInfo:       slog.LevelDebug,
	}
}

// Stats counts what happened to published events.
type Stats struct {
	Published uint64 `json:"published"` // handed to watermill
	Dropped   uint64 `json:"dropped"`   // lost because the queue was full or the bus closed
	// Forwarded and ForwardDropped count events sent to, or lost on the way
	// to, a remote bus (Open with nats://); zero on a local bus.
	Forwarded      uint64 `json:"forwarded,omitempty"`
	ForwardDropped uint64 `json:"forward_dropped,omitempty"`
}

// Bus is the event bus: a bounded queue in front of a watermill pub/sub.
type Bus struct {
	pubsub    *gochannel.GoChannel
	queue     chan Event
	closing   chan struct{}
	closeOnce sync.Once
	published atomic.Uint64
	dropped   atomic.Uint64
	log       *slog.Logger
	instance  string
	remote    *forwarder // nil on a local-only bus
}

// New returns a bus on an embedded watermill GoChannel. Start it with Run.
func New(opts Options) *Bus {
	if opts.Queue <= 0 {
		opts.Queue = 4096
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ps := gochannel.NewGoChannel(gochannel.Config{
		OutputChannelBuffer: 256,
		// Publish waits for subscribers, so Run publishes in order and a slow
		// subscriber fills our bounded queue instead of spawning goroutines.
		BlockPublishUntilSubscriberAck: true,
	}, newLogger(opts.Logger, "watermill"))
	return &Bus{pubsub: ps, queue: make(chan Event, opts.Queue), closing: make(chan struct{}), log: opts.Logger,
		instance: instanceName(opts.Instance)}
}

// Publish queues e for delivery and returns at once. It returns false, and
// counts a drop, when the queue is full or the bus is closing.
func (b *Bus) Publish(e Event) bool {
	if b == nil {
		return false
	}
	select {
	case <-b.closing:
		b.dropped.Add(1)
		return false
	default:
	}
	select {
	case b.queue <- e:
		return true
	default:
		b.dropped.Add(1)
		return false
	}
}

// Stats returns the counts so far.
func (b *Bus) Stats() Stats {
	st := Stats{Published: b.published.Load(), Dropped: b.dropped.Load()}
	b.remote.stats(&st)
	return st
}

// Subscribe returns the messages of one topic. Subscribe before the first
// Publish you care about: the embedded pub/sub does not keep history. The
// channel closes when the bus closes; Ack each message.
func (b *Bus) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	ch, err := b.pubsub.Subscribe(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe %s: %w", topic, err)
	}
	return ch, nil
}

// Run is the bus actor: it publishes queued events, in order, until Close;
// then it publishes what is still queued and closes the pub/sub, which ends
// the subscribers. Cancelling ctx stops it at once, dropping the queue.
func (b *Bus) Run(ctx context.Context) error {
	defer b.pubsub.Close()
	stopRemote := b.remote.start(ctx)
	defer stopRemote()
	for {
		select {
		case e := <-b.queue:
			b.send(e)
		case <-b.closing:
			b.drain()
			b.report()
			return nil
		case <-ctx.Done():
			b.report()
			return nil
		}
	}
}

func (b *Bus) drain() {
	for {
		select {
		case e := <-b.queue:
			b.send(e)
		default:
			return
		}
	}
}

func (b *Bus) report() {
	if n := b.dropped.Load(); n > 0 {
		b.log.Warn("event bus dropped events", "dropped", n, "published", b.published.Load())
	}
}

func (b *Bus) send(e Event) {
	msg, err := encode(b.instance, e, watermill.NewULID())
	if err != nil {
		b.dropped.Add(1)
		b.log.Error("event bus: encode", "kind", e.Kind(), "err", err)
		return
	}
	b.remote.forward(e.Topic(), msg.Copy())
	if err := b.pubsub.Publish(e.Topic(), msg); err != nil {
		b.dropped.Add(1)
		b.log.Error("event bus: publish", "kind", e.Kind(), "err", err)
		return
	}
	b.published.Add(1)
}

// Close stops the bus after the queued events are published. Safe to call
// more than once.
func (b *Bus) Close() {
	b.closeOnce.Do(func() { close(b.closing) })
}
