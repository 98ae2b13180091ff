package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
)

// fetchWait is how long one pull request waits for a message. It also
// bounds how long Close waits for a fetch in progress (a request left on
// the server would hand its message to nobody until AckWait).
const fetchWait = time.Second

// groupSubscriber is a watermill subscriber on a group's durable pull
// consumer: each subscription fetches one message, hands it to the
// handler and fetches the next only once that one is acked or nacked. So
// a message goes to a member that is free, and a busy member holds nothing
// else (a push consumer sends each message to a member at random, busy or
// not, and the member holds it until it gets to it).
type groupSubscriber struct {
	conn    *nats.Conn
	js      nats.JetStreamContext
	cfg     SubscriberConfig
	durable string
	log     watermill.LoggerAdapter
	closing chan struct{}
	once    sync.Once
	loops   sync.WaitGroup
}

// Subscribe starts Concurrent fetch loops on the group's consumer; topic
// must be the group's Topic. The channel closes when ctx ends or the
// subscriber closes.
func (s *groupSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if topic != s.cfg.Topic {
		return nil, fmt.Errorf("bus: group %s consumes %s, not %s", s.cfg.Group, s.cfg.Topic, topic)
	}
	select {
	case <-s.closing:
		return nil, errors.New("bus: subscriber closed")
	default:
	}
	var subs []*nats.Subscription
	for range max(s.cfg.Concurrent, 1) {
		sub, err := s.js.PullSubscribe(topic, s.durable, nats.Bind(s.cfg.Stream, s.durable), nats.ManualAck())
		if err != nil {
			for _, o := range subs {
				_ = o.Unsubscribe()
			}
			return nil, fmt.Errorf("bus: pull subscribe %s: %w", s.durable, err)
		}
		subs = append(subs, sub)
	}
	out := make(chan *message.Message)
	var loops sync.WaitGroup
	for _, sub := range subs {
		loops.Go(func() { s.fetchLoop(ctx, sub, out) })
	}
	s.loops.Go(func() { loops.Wait(); close(out) })
	return out, nil
}

// fetchLoop fetches and delivers one message at a time until ctx ends or
// the subscriber closes. A fetch in progress is let run to its end (at
// most fetchWait) rather than abandoned, and what it brings is nacked.
func (s *groupSubscriber) fetchLoop(ctx context.Context, sub *nats.Subscription, out chan<- *message.Message) {
	defer func() { _ = sub.Unsubscribe() }()
	for !s.stopping(ctx) {
		wait, cancel := context.WithTimeout(context.Background(), fetchWait)
		msgs, err := sub.Fetch(1, nats.Context(wait))
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) && !s.stopping(ctx) {
				s.log.Error("bus: fetch", err, watermill.LogFields{"consumer": s.durable})
				s.pause(ctx)
			}
			continue
		}
		for _, m := range msgs {
			s.deliver(ctx, m, out)
		}
	}
}

func (s *groupSubscriber) stopping(ctx context.Context) bool {
	select {
	case <-s.closing:
		return true
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// pause waits fetchWait after an error (the connection reconnects by
// itself).
func (s *groupSubscriber) pause(ctx context.Context) {
	t := time.NewTimer(fetchWait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.closing:
	case <-ctx.Done():
	}
}

// deliver hands one message to the handler and acks or nacks it on the
// server as the handler did; a message the handler never answers is
// nacked after AckWait.
func (s *groupSubscriber) deliver(ctx context.Context, m *nats.Msg, out chan<- *message.Message) {
	fields := watermill.LogFields{"consumer": s.durable}
	msg, err := (&wmnats.NATSMarshaler{}).Unmarshal(m)
	if err != nil {
		s.log.Error("bus: undecodable message, terminated", err, fields)
		_ = m.Term()
		return
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msg.SetContext(mctx)
	select {
	case out <- msg:
	case <-s.closing:
		_ = m.Nak() // to another member at once
		return
	case <-ctx.Done():
		_ = m.Nak()
		return
	}
	timeout := time.NewTimer(s.cfg.AckWait)
	defer timeout.Stop()
	select {
	case <-msg.Acked():
		if s.cfg.AckAsync {
			err = m.Ack()
		} else {
			err = m.AckSync()
		}
	case <-msg.Nacked():
		if s.cfg.NakDelay > 0 {
			err = m.NakWithDelay(s.cfg.NakDelay)
		} else {
			err = m.Nak()
		}
	case <-timeout.C:
		err = m.Nak()
	}
	if err != nil {
		s.log.Error("bus: ack", err, fields)
	}
}

// Close stops fetching, waits for the messages in hand to be answered (up
// to AckWait) and drains the connection.
func (s *groupSubscriber) Close() error {
	s.once.Do(func() { close(s.closing) })
	done := make(chan struct{})
	go func() { s.loops.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-time.After(s.cfg.AckWait + fetchWait):
		err = errors.New("bus: group subscriber: messages in hand not answered")
	}
	if derr := s.conn.Drain(); derr != nil && !errors.Is(derr, nats.ErrConnectionClosed) {
		err = errors.Join(err, derr)
	}
	return err
}
