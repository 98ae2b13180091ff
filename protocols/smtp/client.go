package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"netstages/actors"
	"netstages/actors/connio"
	"netstages/transport"
)

// Client is one SMTP session. Build it with Dial or NewClient, send any
// number of messages with Send (safe for concurrent use: messages are sent
// one after another, pipelined when the server allows), and end it with
// Close.
type Client struct {
	cfg      Config
	jobs     chan *job
	quit     chan struct{}
	quitOnce sync.Once
	ready    chan struct{} // closed when the session is ready for mail
	done     chan struct{} // closed when the session has ended
	cancel   context.CancelFunc

	// Set by the session before ready is closed; read-only afterwards.
	ext      Extensions
	tls      *tls.ConnectionState
	authMech string

	err   error // why the session ended; read after done is closed
	graph atomic.Pointer[actors.Graph]
}

// Dial connects to addr ("host:port") over network, starts TLS at once when
// cfg.ImplicitTLS is set, and runs the session up to the point where mail
// can be sent (greeting, EHLO, STARTTLS, AUTH). ctx bounds only this setup.
func Dial(ctx context.Context, network transport.Network, addr string, cfg Config) (*Client, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("smtp: address %q: %w", addr, err)
		}
		cfg.ServerName = host
	}
	conn, err := network.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return NewClient(ctx, conn, cfg)
}

// NewClient runs a session on conn, which it owns from now on, up to the
// point where mail can be sent. ctx bounds only this setup.
func NewClient(ctx context.Context, conn net.Conn, cfg Config) (*Client, error) {
	if err := cfg.check(); err != nil {
		conn.Close()
		return nil, err
	}
	cfg = cfg.withDefaults()
	life, cancel := context.WithCancel(context.Background())
	c := &Client{
		cfg:    cfg,
		jobs:   make(chan *job),
		quit:   make(chan struct{}),
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
		cancel: cancel,
	}
	go c.run(life, conn)
	select {
	case <-c.ready:
		return c, nil
	case <-c.done:
		return nil, c.err
	case <-ctx.Done():
		c.Abort()
		return nil, ctx.Err()
	}
}

// run drives the session's phases: a pipeline over the plain connection,
// then, after STARTTLS, a new one over the TLS connection.
func (c *Client) run(ctx context.Context, conn net.Conn) {
	var readyOnce sync.Once
	markReady := func() { readyOnce.Do(func() { close(c.ready) }) }
	defer close(c.done)
	start := stateGreeting
	if c.cfg.ImplicitTLS {
		tc, err := c.handshake(ctx, conn)
		if err != nil {
			c.err = err
			return
		}
		conn = tc
	}
	for {
		s := newSession(c, conn, markReady)
		p := c.wire(conn, s)
		g := p.Graph()
		c.graph.Store(&g)
		s.state = start
		runErr := p.Run(ctx)
		if s.upgrade && s.trailing() {
			conn.Close()
			c.err = ErrSTARTTLSInjection
			return
		}
		if s.upgrade {
			conn.SetReadDeadline(time.Time{})
			tc, err := c.handshake(ctx, conn)
			if err != nil {
				c.err = err
				return
			}
			conn, start = tc, stateEhlo
			continue
		}
		conn.Close()
		c.err = s.err
		if c.err == nil && runErr != nil {
			c.err = fmt.Errorf("smtp: %w", runErr)
		}
		return
	}
}

// handshake starts TLS on conn, bounded by the Other timeout.
func (c *Client) handshake(ctx context.Context, conn net.Conn) (*tls.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeouts.Other)
	defer cancel()
	tc := tls.Client(conn, c.cfg.tlsConfig())
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("smtp: TLS handshake: %w", err)
	}
	st := tc.ConnectionState()
	c.tls = &st
	return tc, nil
}

// channelBuffer is the capacity of every channel between stages.
const channelBuffer = 4

// wire builds one phase's pipeline: reader → framer → parser → session →
// writer.
func (c *Client) wire(conn net.Conn, s *session) *actors.Pipeline {
	p := actors.New("smtp-client", c.cfg.Meter)
	p.OnInterrupt(func() {
		if s.upgrade {
			conn.SetReadDeadline(time.Unix(1, 0)) // unblock the reader, keep the conn for TLS
			return
		}
		conn.Close()
	})
	mode := actors.OwnGoroutine
	if c.cfg.Fused {
		mode = actors.Fused
	}
	chunks := actors.Source(p, actors.Spec{Name: "reader", Role: actors.RoleReader, Does: "reads bytes from the conn"},
		s.errs.source(connio.ReadChunks(conn, c.cfg.Buffers)), channelBuffer)
	frame, frameEnd := FramerStage(s.framer)
	raws := actors.Step(p, actors.Spec{Name: "framer", Role: actors.RoleFramer, Does: "groups multi-line replies"},
		chunks, frame, frameEnd, mode, channelBuffer)
	replies := actors.Step(p, actors.Spec{Name: "parser", Role: actors.RoleParser, Does: "reads codes and enhanced codes"},
		raws, s.countParsed(ParserStage(c.cfg.Trace)), nil, mode, channelBuffer)
	cmds := actors.Then(p, actors.Spec{Name: "session", Role: actors.RoleHandler, Does: "state machine: EHLO … QUIT"},
		replies, s.stage, channelBuffer)
	dst := &deadlineWriter{conn: conn, timeout: c.cfg.Timeouts.DataBlock}
	write, flush := WriterStage(connio.NewFlushingWriter(dst, c.cfg.Writers), c.cfg.Trace)
	actors.StepSink(p, actors.Spec{Name: "writer", Role: actors.RoleWriter, Does: "writes commands and dot-stuffed data"},
		cmds, s.errs.sinkStep(write), flush, mode)
	return p
}

// Graph returns the shape of the client's pipeline without a connection.
func Graph() actors.Graph {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &Client{cfg: Config{}.withDefaults()}
	return c.wire(a, newSession(c, a, func() {})).Graph()
}

// Extensions returns what the server announced in its last EHLO reply.
func (c *Client) Extensions() Extensions { return c.ext }

// TLS returns the TLS connection state, or nil for a plain-text session.
func (c *Client) TLS() *tls.ConnectionState { return c.tls }

// AuthMechanism returns the SASL mechanism used, or "".
func (c *Client) AuthMechanism() string { return c.authMech }

// PipelineGraph returns the graph of the pipeline now running (after
// STARTTLS, the second one).
func (c *Client) PipelineGraph() actors.Graph {
	if g := c.graph.Load(); g != nil {
		return *g
	}
	return actors.Graph{}
}

// Close sends QUIT once the messages already submitted are done, waits for
// the session to end and closes the connection. It returns why the session
// ended if that was a failure.
func (c *Client) Close() error {
	c.quitOnce.Do(func() { close(c.quit) })
	<-c.done
	c.cancel()
	if errors.Is(c.err, ErrClosed) {
		return nil
	}
	return c.err
}

// Abort ends the session at once, without QUIT. Messages in flight fail.
func (c *Client) Abort() {
	c.cancel()
	<-c.done
}

// Err returns why the session ended, or nil while it runs.
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// RecipientError is one recipient the server refused.
type RecipientError struct {
	Addr string
	Err  *Error
}

// Result is what happened to one message.
type Result struct {
	// Accepted lists the recipients the server took.
	Accepted []string
	// Rejected lists the ones it refused, with its replies.
	Rejected []RecipientError
	// Reply is the server's reply to the end of data, e.g. "2.0.0 OK: queued".
	Reply Reply
}

// job is one message on its way through the session.
type job struct {
	from string
	to   []string
	msg  []byte
	info MessageInfo
	utf8 bool
	res  Result
	err  error
	done chan struct{}
}

func (j *job) finish(err error) {
	j.err = err
	close(j.done)
}

// Send sends one message to every address in to. It returns once the
// server has accepted or refused it. A refused recipient does not stop the
// others; the message fails (with the first refusal) only when every
// recipient is refused. The message is checked before any command is sent:
// lines over 998 octets, a size over the server's SIZE, or CR/LF in an
// address are errors and the session goes on. Cancelling ctx while the
// message is on the wire aborts the session.
func (c *Client) Send(ctx context.Context, from string, to []string, msg []byte) (*Result, error) {
	p, err := c.Submit(ctx, from, to, msg)
	if err != nil {
		return nil, err
	}
	return p.Wait(ctx)
}

// Pending is a message handed to the session by Submit.
type Pending struct {
	c *Client
	j *job
}

// Submit hands a message to the session and returns as soon as the
// session has taken it, before the server has answered: while one message's
// content is on the wire the session takes the next, and with PIPELINING
// its envelope goes in the same write. One goroutine can so keep a
// connection busy: Submit each message, then Wait on each Pending. The
// checks are Send's. ctx bounds only the wait for the session to take the
// message.
func (c *Client) Submit(ctx context.Context, from string, to []string, msg []byte) (*Pending, error) {
	j, err := c.newJob(from, to, msg)
	if err != nil {
		return nil, err
	}
	select {
	case c.jobs <- j:
		return &Pending{c: c, j: j}, nil
	case <-c.done:
		return nil, c.sessionErr()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Wait returns the message's result, as Send does. Cancelling ctx aborts
// the session: the message's state on the wire is unknown.
func (p *Pending) Wait(ctx context.Context) (*Result, error) {
	select {
	case <-p.j.done:
	case <-ctx.Done():
		p.c.Abort()
		<-p.j.done
		return nil, ctx.Err()
	}
	if p.j.err != nil {
		return &p.j.res, p.j.err
	}
	return &p.j.res, nil
}

func (c *Client) sessionErr() error {
	if c.err != nil && !errors.Is(c.err, ErrClosed) {
		return fmt.Errorf("%w: %w", ErrClosed, c.err)
	}
	return ErrClosed
}

// newJob checks a message against what the server announced.
func (c *Client) newJob(from string, to []string, msg []byte) (*job, error) {
	if len(to) == 0 {
		return nil, ErrNoRecipients
	}
	utf8 := !isASCII(from)
	if err := checkArg("sender", from); err != nil {
		return nil, err
	}
	for _, rcpt := range to {
		if err := checkArg("recipient", rcpt); err != nil {
			return nil, err
		}
		if rcpt == "" {
			return nil, fmt.Errorf("%w: empty recipient", ErrBadLine)
		}
		utf8 = utf8 || !isASCII(rcpt)
	}
	if utf8 && !c.ext.Has("SMTPUTF8") {
		return nil, ErrNeedsSMTPUTF8
	}
	info, err := CheckMessage(msg)
	if err != nil {
		return nil, err
	}
	if c.ext.Size > 0 && info.Size > c.ext.Size {
		return nil, fmt.Errorf("%w: %d octets, limit %d", ErrTooBig, info.Size, c.ext.Size)
	}
	return &job{from: from, to: to, msg: msg, info: info, utf8: utf8, done: make(chan struct{})}, nil
}

// ioErrors keeps the first error of the reader and writer stages, so the
// session can say why its input ended.
type ioErrors struct {
	err atomic.Pointer[error]
}

func (e *ioErrors) set(err error) {
	if err != nil {
		e.err.CompareAndSwap(nil, &err)
	}
}

func (e *ioErrors) get() error {
	if p := e.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (e *ioErrors) source(f actors.SourceFunc[connio.Chunk]) actors.SourceFunc[connio.Chunk] {
	return func(ctx context.Context, out *actors.Output[connio.Chunk]) error {
		err := f(ctx, out)
		e.set(err)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil // the session reports the timeout itself
		}
		return err
	}
}

func (e *ioErrors) sinkStep(f actors.SinkStepFunc[[]Command]) actors.SinkStepFunc[[]Command] {
	return func(ctx context.Context, cmds []Command, more bool) error {
		err := f(ctx, cmds, more)
		e.set(err)
		return err
	}
}

var _ io.Writer = (*deadlineWriter)(nil)
