package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
)

// StreamConfig describes a JetStream stream to create if missing.
type StreamConfig struct {
	Name     string        // stream name (no dots)
	Subjects []string      // topics it keeps
	MaxAge   time.Duration // 0 keeps messages until deleted
	// Duplicates is the window in which a repeated message UUID is dropped
	// by the server (publishers with dedupe). 0 is the server's 2 minutes.
	Duplicates time.Duration
}

// EventStream is the stream that keeps fleet events for a day.
func EventStream() StreamConfig {
	return StreamConfig{
		Name:     "NETSTAGES_EVENTS",
		Subjects: []string{TopicConn, TopicRequest, TopicPacket, TopicMail},
		MaxAge:   24 * time.Hour,
	}
}

// JetStream is a connection to a NATS JetStream server: it creates streams
// and key-value buckets, and hands out watermill publishers and subscribers,
// each on its own NATS connection (a watermill subscriber drains its
// connection on Close). Safe for concurrent use.
type JetStream struct {
	url  string
	conn *nats.Conn
	js   nats.JetStreamContext
	log  watermill.LoggerAdapter
}

// DialJetStream connects to the NATS server at url and checks that it has
// JetStream.
func DialJetStream(url string, log *slog.Logger) (*JetStream, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn, err := nats.Connect(url, natsOptions("netstages-admin")...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect %s: %w", url, err)
	}
	js, err := conn.JetStream()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("bus: jetstream %s: %w", url, err)
	}
	if _, err := js.AccountInfo(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("bus: jetstream %s: %w", url, err)
	}
	wl := newLogger(log, "watermill-nats")
	return &JetStream{url: url, conn: conn, js: js, log: wl}, nil
}

func natsOptions(name string) []nats.Option {
	return []nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
}

// URL is the server address.
func (j *JetStream) URL() string { return j.url }

// Conn is the admin connection (for key-value buckets and stream queries).
func (j *JetStream) Conn() nats.JetStreamContext { return j.js }

// EnsureStream creates the stream if it does not exist yet.
func (j *JetStream) EnsureStream(cfg StreamConfig) error {
	if _, err := j.js.StreamInfo(cfg.Name); err == nil {
		return nil
	} else if !errors.Is(err, nats.ErrStreamNotFound) {
		return fmt.Errorf("bus: stream %s: %w", cfg.Name, err)
	}
	_, err := j.js.AddStream(&nats.StreamConfig{
		Name: cfg.Name, Subjects: cfg.Subjects, MaxAge: cfg.MaxAge, Duplicates: cfg.Duplicates,
		Storage: nats.FileStorage, Retention: nats.LimitsPolicy,
	})
	if err != nil && !errors.Is(err, nats.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("bus: create stream %s: %w", cfg.Name, err)
	}
	return nil
}

// Publisher returns a watermill publisher; with dedupe, the message UUID is
// sent as Nats-Msg-Id so the server drops a repeat within the stream's
// Duplicates window. Publish returns once JetStream has stored the message.
func (j *JetStream) Publisher(dedupe bool) (*wmnats.Publisher, error) {
	conn, err := nats.Connect(j.url, natsOptions("netstages-pub")...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect %s: %w", j.url, err)
	}
	pub, err := wmnats.NewPublisherWithNatsConn(conn, wmnats.PublisherPublishConfig{
		Marshaler:         &wmnats.NATSMarshaler{},
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		JetStream:         wmnats.JetStreamConfig{TrackMsgId: dedupe},
	}, j.log)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("bus: publisher: %w", err)
	}
	return pub, nil
}

// asyncPublisher is a connection of its own for asynchronous publishing.
func (j *JetStream) asyncPublisher() (*nats.Conn, nats.JetStreamContext, error) {
	conn, err := nats.Connect(j.url, natsOptions("netstages-events")...)
	if err != nil {
		return nil, nil, fmt.Errorf("bus: connect %s: %w", j.url, err)
	}
	js, err := conn.JetStream(nats.PublishAsyncMaxPending(2 * asyncWindow))
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("bus: jetstream %s: %w", j.url, err)
	}
	return conn, js, nil
}

// SubscriberConfig says how a subscriber consumes a stream.
type SubscriberConfig struct {
	// Group, when set, makes a durable consumer shared by every subscriber
	// with the same group, on any machine: each message goes to one of them,
	// and the group resumes where it stopped after a restart. Empty is an
	// ephemeral consumer that sees the whole stream from its start.
	//
	// The durable consumer is a pull consumer created here (on Stream, for
	// Topic, both required with Group) and the subscriber binds to it, so a
	// subscriber that leaves does not delete it: nats.go deletes a consumer
	// its own Subscribe created when that subscription unsubscribes, which
	// would make the next worker start over from the beginning of the
	// stream. Each of the subscriber's Concurrent loops fetches one message
	// and the next only when that one is acked or nacked, so a message
	// goes to a member that is free and a busy member holds nothing else.
	Group string
	// Stream and Topic name the stream and the one topic a Group consumes.
	Stream, Topic string
	// AckWait is how long the server waits for an Ack before it redelivers
	// the message to the group. Default 30 s.
	AckWait time.Duration
	// Concurrent is how many messages one subscriber handles at a time.
	// Default 1.
	Concurrent int
	// MaxDeliver bounds deliveries of one message (0: unlimited).
	MaxDeliver int
	// MaxAckPending, for a Group, bounds the messages delivered and not yet
	// acknowledged over the whole group (default 1000): since each member
	// holds at most Concurrent, it caps how many are busy at once. The
	// last subscriber to start sets it for the group.
	MaxAckPending int
	// NakDelay is how long a Nacked message waits before it is delivered
	// again; 0 is at once.
	NakDelay time.Duration
	// Since, for an ephemeral consumer, starts at messages this recent
	// instead of the start of the stream (0).
	Since time.Duration
	// AckAsync sends acks without waiting for the server's confirmation
	// (a fleet view that may see an event twice after a crash, not the
	// outbox).
	AckAsync bool
}

// Subscriber is a watermill subscriber on its own NATS connection:
// watermill-nats's push subscriber, or for a Group a pull subscriber of
// ours.
type Subscriber struct {
	message.Subscriber
	closed <-chan struct{}
}

// Close stops the subscriptions and waits (up to 10 s) until the
// connection has drained and closed.
func (s *Subscriber) Close() error {
	err := s.Subscriber.Close()
	select {
	case <-s.closed:
	case <-time.After(10 * time.Second):
		return errors.Join(err, errors.New("bus: subscriber connection did not close"))
	}
	return err
}

// Subscriber returns a watermill subscriber for cfg. Messages must be Acked
// or Nacked (manual ack: nothing is acknowledged behind the handler's back).
func (j *JetStream) Subscriber(cfg SubscriberConfig) (*Subscriber, error) {
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	start := nats.DeliverAll()
	if cfg.Since > 0 {
		start = nats.StartTime(time.Now().Add(-cfg.Since))
	}
	opts := []nats.SubOpt{nats.ManualAck(), nats.AckExplicit(), nats.AckWait(cfg.AckWait), start}
	if cfg.MaxDeliver > 0 {
		opts = append(opts, nats.MaxDeliver(cfg.MaxDeliver))
	}
	var durable string
	if cfg.Group != "" {
		var err error
		if durable, err = j.ensureConsumer(cfg); err != nil {
			return nil, err
		}
	}
	closed := make(chan struct{})
	conn, err := nats.Connect(j.url, append(natsOptions("netstages-sub"),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }))...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect %s: %w", j.url, err)
	}
	if cfg.Group != "" {
		js, err := conn.JetStream()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("bus: jetstream %s: %w", j.url, err)
		}
		return &Subscriber{closed: closed, Subscriber: &groupSubscriber{conn: conn, js: js, cfg: cfg,
			durable: durable, log: j.log, closing: make(chan struct{})}}, nil
	}
	sub, err := wmnats.NewSubscriberWithNatsConn(conn, wmnats.SubscriberSubscriptionConfig{
		Unmarshaler:      &wmnats.NATSMarshaler{},
		SubscribersCount: max(cfg.Concurrent, 1),
		AckWaitTimeout:   cfg.AckWait,
		CloseTimeout:     5 * time.Second,
		QueueGroupPrefix: cfg.Group,
		NakDelay:         nakDelay(cfg.NakDelay),
		SubjectCalculator: func(group, topic string) *wmnats.SubjectDetail {
			return &wmnats.SubjectDetail{Primary: topic, QueueGroup: group}
		},
		JetStream: wmnats.JetStreamConfig{
			SubscribeOptions:  opts,
			AckAsync:          cfg.AckAsync,
			DurablePrefix:     cfg.Group,
			DurableCalculator: DurableName,
		},
	}, j.log)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("bus: subscriber: %w", err)
	}
	return &Subscriber{Subscriber: sub, closed: closed}, nil
}

// DurableName is the durable consumer of group for topic ("" without a
// group).
func DurableName(group, topic string) string {
	if group == "" {
		return ""
	}
	return group + "_" + durableSafe(topic)
}

// ensureConsumer creates the durable pull consumer of a group (every
// message of Topic from the start of Stream, explicit acks), or updates
// the settings a later member may change (AckWait, MaxDeliver,
// MaxAckPending) on the one that exists.
func (j *JetStream) ensureConsumer(cfg SubscriberConfig) (string, error) {
	if cfg.Stream == "" || cfg.Topic == "" {
		return "", errors.New("bus: a subscriber group needs its Stream and Topic")
	}
	durable := DurableName(cfg.Group, cfg.Topic)
	if cfg.MaxAckPending <= 0 {
		cfg.MaxAckPending = 1000
	}
	maxDeliver := cfg.MaxDeliver
	if maxDeliver == 0 {
		maxDeliver = -1
	}
	info, err := j.js.ConsumerInfo(cfg.Stream, durable)
	switch {
	case errors.Is(err, nats.ErrConsumerNotFound):
		cc := &nats.ConsumerConfig{
			Durable: durable, DeliverPolicy: nats.DeliverAllPolicy, AckPolicy: nats.AckExplicitPolicy,
			AckWait: cfg.AckWait, MaxDeliver: maxDeliver, FilterSubject: cfg.Topic, MaxAckPending: cfg.MaxAckPending,
		}
		if _, err := j.js.AddConsumer(cfg.Stream, cc); err != nil {
			return "", fmt.Errorf("bus: consumer %s: %w", durable, err)
		}
		return durable, nil
	case err != nil:
		return "", fmt.Errorf("bus: consumer %s: %w", durable, err)
	case info.Config.DeliverSubject != "":
		return "", fmt.Errorf("bus: consumer %s on %s is a push consumer (made by an earlier netstages); "+
			"remove it (nats consumer rm %s %s) and start again: its messages are delivered from the start of the "+
			"stream, and what was already sent is not sent again", durable, cfg.Stream, cfg.Stream, durable)
	}
	cc := info.Config
	cc.AckWait, cc.MaxDeliver, cc.MaxAckPending = cfg.AckWait, maxDeliver, cfg.MaxAckPending
	if _, err := j.js.UpdateConsumer(cfg.Stream, &cc); err != nil {
		return "", fmt.Errorf("bus: consumer %s: %w", durable, err)
	}
	return durable, nil
}

func nakDelay(d time.Duration) wmnats.Delay {
	if d <= 0 {
		return nil
	}
	return wmnats.NewStaticDelay(d)
}

// durableSafe replaces the characters a durable name may not hold.
func durableSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '.' || c == '*' || c == '>' || c == ' ' {
			b[i] = '_'
		}
	}
	return string(b)
}

// Close closes the admin connection.
func (j *JetStream) Close() { j.conn.Close() }
