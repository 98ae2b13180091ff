package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"netstages/actors/bus"
	"netstages/protocols/smtp"
	"netstages/transport"
)

// Backoff is the Retry middleware's exponential backoff for temporary
// failures (4xx replies, connection errors), within one delivery.
type Backoff struct {
	MaxRetries int           // retries after the first attempt; default 4
	Initial    time.Duration // first wait; default 500 ms
	Max        time.Duration // longest wait; default 10 s
	Multiplier float64       // growth per retry; default 2
}

// Config configures a Worker.
type Config struct {
	// JetStream is the connection the outbox lives on.
	JetStream *bus.JetStream
	// Server is the SMTP server ("host:port") every message goes to.
	Server string
	// Network dials the server; default real sockets.
	Network transport.Network
	// SMTP configures the client sessions (TLS, AUTH, timeouts).
	SMTP smtp.Config
	// Name identifies the worker in the ledger and in events; default
	// host name and process id.
	Name string
	// Group is the durable consumer the workers share; default "outbox".
	Group string
	// AckWait is how long JetStream waits for a worker to finish a message
	// before giving it to another. Every delivery, retries included, ends
	// within AckWait*3/4. Default 2 minutes.
	AckWait time.Duration
	// MaxInFlight bounds the messages being delivered at once over all the
	// workers of the group (the consumer's MaxAckPending); each worker
	// fetches one message at a time, so it caps how many workers are busy.
	// Default 1000. The last worker started sets it for the group.
	MaxInFlight int
	// NakDelay is how long a message waits before it is delivered again
	// after its retries ran out, or while another attempt holds it.
	// Default 5 s.
	NakDelay time.Duration
	// Retry is the backoff for temporary failures.
	Retry Backoff
	// KeepSession is how long an idle SMTP session is kept for the next
	// message (RSET-free: one transaction after another). Default 30 s;
	// negative opens one session per message.
	KeepSession time.Duration
	// LedgerTTL is how long the "already sent" records are kept; default
	// 7 days. It must exceed how long a message can wait in the outbox.
	LedgerTTL time.Duration
	// Events, when not nil, receives a bus.MailDone per outcome.
	Events *bus.Bus
	// Log receives the worker's and watermill's logs; nil discards.
	Log *slog.Logger
	// AfterSent, when not nil, is called after a delivery is recorded in
	// the ledger and before the message is acknowledged (fault tests kill
	// the process here).
	AfterSent func(messageID string)
}

func (c Config) withDefaults() Config {
	if c.Network == nil {
		c.Network = &transport.System{}
	}
	if c.Name == "" {
		h, _ := os.Hostname()
		c.Name = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
	if c.Group == "" {
		c.Group = "outbox"
	}
	if c.AckWait <= 0 {
		c.AckWait = 2 * time.Minute
	}
	if c.NakDelay <= 0 {
		c.NakDelay = 5 * time.Second
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 1000
	}
	if c.Retry.MaxRetries <= 0 {
		c.Retry.MaxRetries = 4
	}
	if c.Retry.Initial <= 0 {
		c.Retry.Initial = 500 * time.Millisecond
	}
	if c.Retry.Max <= 0 {
		c.Retry.Max = 10 * time.Second
	}
	if c.Retry.Multiplier < 1 {
		c.Retry.Multiplier = 2
	}
	if c.KeepSession == 0 {
		c.KeepSession = 30 * time.Second
	}
	if c.LedgerTTL <= 0 {
		c.LedgerTTL = 7 * 24 * time.Hour
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Stats counts a worker's outcomes.
type Stats struct {
	Sent       uint64 `json:"sent"`       // accepted by the server
	Duplicates uint64 `json:"duplicates"` // redelivered but already sent: not sent again
	Temporary  uint64 `json:"temporary"`  // attempts that failed temporarily (retried)
	Dead       uint64 `json:"dead"`       // refused for good: dead-lettered
	Takeovers  uint64 `json:"takeovers"`  // claims taken over from an attempt that died
}

// Worker delivers outbox messages: a watermill Router whose one handler
// sends each message with the smtp client.
type Worker struct {
	cfg    Config
	ledger *ledger
	router *message.Router
	pub    message.Publisher
	sub    message.Subscriber
	dead   message.Publisher
	// The kept SMTP session (one message at a time uses it), closed when
	// Run ends.
	sessMu   sync.Mutex
	sess     *smtp.Client
	sessUsed time.Time
	stats    struct{ sent, dup, temp, dead, takeover atomic.Uint64 }
}

// PermanentError is a refusal that retrying cannot fix (5xx, a bad item).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return oneLine(e.Err.Error()) }
func (e *PermanentError) Unwrap() error { return e.Err }

// errBusy says another attempt holds the message; it is neither retried
// here nor dead-lettered, only delivered again after NakDelay.
var errBusy = errors.New("outbox: message held by another attempt")

// NewWorker connects the router, the dead-letter publisher and the ledger.
// Run starts delivering.
func NewWorker(cfg Config) (*Worker, error) {
	cfg = cfg.withDefaults()
	if cfg.JetStream == nil || cfg.Server == "" {
		return nil, errors.New("outbox: worker needs a JetStream connection and an SMTP server")
	}
	js := cfg.JetStream
	if err := js.EnsureStream(Stream()); err != nil {
		return nil, err
	}
	ldg, err := openLedger(js.Conn(), cfg.LedgerTTL, cfg.AckWait)
	if err != nil {
		return nil, err
	}
	w := &Worker{cfg: cfg, ledger: ldg}
	if err := w.wire(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Worker) wire() error {
	cfg := w.cfg
	wlog := watermill.NewSlogLogger(cfg.Log.With("component", "watermill"))
	pub, err := cfg.JetStream.Publisher(true)
	if err != nil {
		return err
	}
	sub, err := cfg.JetStream.Subscriber(bus.SubscriberConfig{Group: cfg.Group, Stream: Stream().Name, Topic: Topic,
		AckWait: cfg.AckWait, NakDelay: cfg.NakDelay, MaxAckPending: cfg.MaxInFlight})
	if err != nil {
		_ = pub.Close()
		return err
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.AckWait}, wlog)
	if err != nil {
		_ = pub.Close()
		_ = sub.Close()
		return fmt.Errorf("outbox: router: %w", err)
	}
	poison, err := middleware.PoisonQueueWithFilter(deadPublisher{pub}, DeadTopic, isPermanent)
	if err != nil {
		_ = pub.Close()
		_ = sub.Close()
		return fmt.Errorf("outbox: poison queue: %w", err)
	}
	router.AddMiddleware(
		poison, // outermost: a permanent failure goes to DeadTopic and is acked
		w.deadline,
		middleware.Retry{
			MaxRetries: cfg.Retry.MaxRetries, InitialInterval: cfg.Retry.Initial,
			MaxInterval: cfg.Retry.Max, Multiplier: cfg.Retry.Multiplier,
			RandomizationFactor: 0.2,
			ShouldRetry:         func(p middleware.RetryParams) bool { return !isPermanent(p.Err) && !errors.Is(p.Err, errBusy) },
		}.Middleware,
	)
	router.AddConsumerHandler("outbox", Topic, sub, w.handle)
	w.router, w.pub, w.sub, w.dead = router, pub, sub, deadPublisher{pub}
	return nil
}

// deadline bounds one delivery, retries included, to 3/4 of AckWait, so by
// the time JetStream gives the message to another worker this attempt has
// ended (or its process has died).
func (w *Worker) deadline(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		ctx, cancel := context.WithTimeout(msg.Context(), w.cfg.AckWait*3/4)
		defer cancel()
		msg.SetContext(ctx)
		return h(msg)
	}
}

// Run delivers until ctx is cancelled, then lets the message in hand
// finish (up to AckWait) and closes the router.
func (w *Worker) Run(ctx context.Context) error {
	defer func() {
		_ = w.sub.Close() // waits for the connection to drain
		_ = w.pub.Close()
		w.sessMu.Lock()
		w.closeSession()
		w.sessMu.Unlock()
	}()
	if err := w.router.Run(ctx); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// Running is closed once the router is consuming.
func (w *Worker) Running() chan struct{} { return w.router.Running() }

// Idle reports whether the outbox has nothing left for the workers of this
// group: no message waiting and none delivered but unacknowledged (dead
// letters are not waiting).
func (w *Worker) Idle() (bool, error) {
	info, err := w.cfg.JetStream.Conn().ConsumerInfo(Stream().Name, bus.DurableName(w.cfg.Group, Topic))
	if err != nil {
		return false, fmt.Errorf("outbox: consumer info: %w", err)
	}
	return info.NumPending == 0 && info.NumAckPending == 0, nil
}

// Stats returns the counts so far.
func (w *Worker) Stats() Stats {
	return Stats{Sent: w.stats.sent.Load(), Duplicates: w.stats.dup.Load(), Temporary: w.stats.temp.Load(),
		Dead: w.stats.dead.Load(), Takeovers: w.stats.takeover.Load()}
}

// handle delivers one message: claim it in the ledger, send it, record it
// as sent, and only then let the router ack it.
func (w *Worker) handle(msg *message.Message) error {
	it, err := DecodeItem(msg.Payload)
	if err != nil {
		w.stats.dead.Add(1)
		return &PermanentError{Err: err}
	}
	c, state, err := w.ledger.begin(it.MessageID, w.cfg.Name)
	switch {
	case err != nil:
		return err // NATS trouble: retried
	case state == alreadySent:
		w.stats.dup.Add(1)
		w.event(it, "duplicate", 0, "already sent")
		return nil
	case state == busy:
		return errBusy
	}
	if c.takeover {
		w.stats.takeover.Add(1)
		w.cfg.Log.Warn("outbox: taking over a message whose last attempt died; it may have been delivered",
			"message_id", it.MessageID)
	}
	res, err := w.deliver(msg.Context(), it)
	if err != nil {
		return w.failed(it, c, err)
	}
	reply := fmt.Sprintf("%d %s", res.Reply.Code, res.Reply.Text())
	if err := w.ledger.sent(c, w.cfg.Name, oneLine(reply)); err != nil {
		// Delivered but not recorded: ack anyway; a redelivery would resend.
		w.cfg.Log.Error("outbox: delivered but could not record it", "message_id", it.MessageID, "err", err)
	}
	if len(res.Rejected) > 0 {
		w.refused(it, res.Rejected)
	}
	if w.cfg.AfterSent != nil {
		w.cfg.AfterSent(it.MessageID)
	}
	w.stats.sent.Add(1)
	w.event(it, "sent", 250, reply)
	return nil
}

// refused dead-letters the recipients the server refused while it accepted
// the message for the others: an item for just them, with every reply as
// the reason. A temporary refusal is not retried (the Message-ID is now
// recorded as sent); the dead letter says so.
func (w *Worker) refused(it Item, rejected []smtp.RecipientError) {
	dead := it
	dead.To = nil
	reasons := make([]string, 0, len(rejected))
	for _, r := range rejected {
		dead.To = append(dead.To, r.Addr)
		reasons = append(reasons, fmt.Sprintf("RCPT %s: %d %s", r.Addr, r.Err.Code, r.Err.Message))
	}
	msg, err := dead.Message()
	if err == nil {
		msg.UUID = "partial:" + it.MessageID
		msg.Metadata.Set(ReasonKey, oneLine("refused recipients (the others accepted the message): "+strings.Join(reasons, "; ")))
		err = w.dead.Publish(DeadTopic, msg)
	}
	if err != nil {
		w.cfg.Log.Error("outbox: dead-letter refused recipients", "message_id", it.MessageID, "err", err)
		return
	}
	w.stats.dead.Add(1)
	w.event(it, "dead", rejected[0].Err.Code, strings.Join(reasons, "; "))
}

// failed releases the claim and classifies the error.
func (w *Worker) failed(it Item, c claim, err error) error {
	if rerr := w.ledger.release(c); rerr != nil {
		w.cfg.Log.Warn("outbox: release claim", "message_id", it.MessageID, "err", rerr)
	}
	var se *smtp.Error
	if errors.As(err, &se) && !se.Temporary() {
		w.stats.dead.Add(1)
		w.event(it, "dead", se.Code, se.Error())
		return &PermanentError{Err: err}
	}
	w.stats.temp.Add(1)
	code := 0
	if se != nil {
		code = se.Code
	}
	w.event(it, "retry", code, err.Error())
	return fmt.Errorf("outbox: %s: %w", it.MessageID, err)
}

// deliver sends the message on the kept SMTP session, or a new one. A
// session that the server ended while idle (smtp.ErrClosed before anything
// was sent) is replaced at once; any other error ends the session.
func (w *Worker) deliver(ctx context.Context, it Item) (*smtp.Result, error) {
	w.sessMu.Lock()
	defer w.sessMu.Unlock()
	for try := 0; ; try++ {
		c, fresh, err := w.session(ctx)
		if err != nil {
			return nil, err
		}
		res, err := c.Send(ctx, it.From, it.To, it.Data)
		if err == nil {
			w.sessUsed = time.Now()
			if w.cfg.KeepSession < 0 {
				w.closeSession()
			}
			return res, nil
		}
		w.dropSession()
		if !fresh && try == 0 && errors.Is(err, smtp.ErrClosed) {
			continue // the kept session had ended: nothing was sent
		}
		return res, err
	}
}

// session returns the kept session if it is recent and alive, or dials.
func (w *Worker) session(ctx context.Context) (*smtp.Client, bool, error) {
	if w.sess != nil && (time.Since(w.sessUsed) > w.cfg.KeepSession || w.sess.Err() != nil) {
		w.closeSession()
	}
	if w.sess != nil {
		return w.sess, false, nil
	}
	// DATA, not BDAT: the content goes out only after the server has
	// answered RCPT, so a worker that dies before the final "." has sent
	// nothing the server could accept (see "Exactly once" in doc.go). A
	// pipelined "BDAT n LAST" would widen that window by a round trip.
	cfg := w.cfg.SMTP
	cfg.NoChunking = true
	c, err := smtp.Dial(ctx, w.cfg.Network, w.cfg.Server, cfg)
	if err != nil {
		return nil, true, err
	}
	w.sess, w.sessUsed = c, time.Now()
	return c, true, nil
}

// closeSession ends the kept session with QUIT.
func (w *Worker) closeSession() {
	if w.sess == nil {
		return
	}
	if err := w.sess.Close(); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, smtp.ErrClosed) {
		w.cfg.Log.Debug("outbox: QUIT", "err", err)
	}
	w.sess = nil
}

// dropSession abandons the kept session after an error.
func (w *Worker) dropSession() {
	if w.sess != nil {
		w.sess.Abort()
		_ = w.sess.Close()
		w.sess = nil
	}
}

func (w *Worker) event(it Item, outcome string, code int, reply string) {
	if w.cfg.Events == nil {
		return
	}
	w.cfg.Events.Publish(bus.MailDone{Worker: w.cfg.Name, MessageID: it.MessageID, Outcome: outcome,
		Code: code, Reply: oneLine(reply), At: time.Now().UTC()})
}

// deadPublisher gives a dead letter its own de-duplication id: the
// Message-ID alone would be dropped by JetStream as a repeat of the
// enqueued message in the same stream.
type deadPublisher struct{ message.Publisher }

func (d deadPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		m.UUID = "dead:" + m.UUID
	}
	return d.Publisher.Publish(topic, msgs...)
}

// isPermanent says whether err should go to the dead-letter topic.
func isPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}

// oneLine keeps a reason fit for a NATS header.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
