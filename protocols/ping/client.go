package ping

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"netstages/actors"
	"netstages/actors/bus"
)

// Socket is the client's datagram socket, connected to one target.
type Socket interface {
	PacketReader
	// Send writes one datagram to the target.
	Send(b []byte) error
	// Close closes the socket; a blocked ReadFrom returns.
	Close() error
	// Target is the address probes go to.
	Target() net.Addr
}

// Connected makes a Socket of a connected datagram conn (net.Dial("udp",
// …)). The kernel then drops datagrams from other addresses, and an ICMP
// port unreachable comes back as ECONNREFUSED on the next read or write.
func Connected(c net.Conn) Socket { return connected{c} }

type connected struct{ net.Conn }

func (c connected) ReadFrom(b []byte) (int, net.Addr, error) {
	n, err := c.Read(b)
	return n, c.RemoteAddr(), err
}

// UDPConn lets the reader use recvmmsg on a real UDP socket.
func (c connected) UDPConn() *net.UDPConn {
	uc, _ := c.Conn.(*net.UDPConn)
	return uc
}
func (c connected) Send(b []byte) error { _, err := c.Write(b); return err }
func (c connected) Target() net.Addr    { return c.RemoteAddr() }

// Unconnected makes a Socket of a PacketConn that sends to to, e.g. a
// transport/mem datagram socket. Datagrams from other addresses are counted
// as unmatched replies.
func Unconnected(pc net.PacketConn, to net.Addr) Socket { return unconnected{pc, to} }

type unconnected struct {
	net.PacketConn
	to net.Addr
}

func (u unconnected) Send(b []byte) error { _, err := u.WriteTo(b, u.to); return err }
func (u unconnected) Target() net.Addr    { return u.to }

// ClientConfig configures a ping run.
type ClientConfig struct {
	// Count is how many probes to send; 0 sends until the context ends.
	Count int
	// Interval is the time between sends, kept whatever the replies do.
	// Default 1 s.
	Interval time.Duration
	// Timeout is how long a probe waits for its reply before it is reported
	// lost; a reply after it counts as late. Default 1 s.
	Timeout time.Duration
	// Size pads each request to this many bytes (0: no padding).
	Size int
	// Heartbeat marks the probes as heartbeats for pingd's tracking.
	Heartbeat bool
	// Name names the probe in bus events. Default "ping".
	Name string
	// Bus receives PacketSent, PacketReceived and PacketLost; nil for none.
	Bus *bus.Bus
	// Fused runs the sender inside the pacer's goroutine and the parser,
	// handler and writer of the reply chain inside the reader's
	// (actors.Fused): the same stages and graph, no hand-off per probe or
	// reply. False gives each stage a goroutine of its own.
	// cmd/ping turns it on by default.
	Fused bool
}

func (c ClientConfig) withDefaults() ClientConfig {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if c.Name == "" {
		c.Name = "ping"
	}
	return c
}

// Validate reports a configuration error.
func (c ClientConfig) Validate() error {
	switch {
	case c.Count < 0:
		return errors.New("count must not be negative")
	case c.Interval < 0 || c.Timeout < 0:
		return errors.New("interval and timeout must be positive")
	case c.Size < 0 || c.Size > MaxDatagram:
		return fmt.Errorf("size %d is not between 0 and %d", c.Size, MaxDatagram)
	}
	return nil
}

// Probe is one scheduled send, from the pacer to the sender.
type Probe struct {
	// Seq numbers probes from 1.
	Seq uint64
	// Due is when the schedule wanted it sent.
	Due time.Time
	// Last marks the final probe of a counted run.
	Last bool
}

// Client is one ping run: a pipeline of two chains over one socket.
//
//	pacer → sender                     (sends on its own schedule)
//	reader → parser → handler → writer (replies, timeouts, report lines)
//
// The sender and the handler share the Stats under a mutex: the sender
// records each send time, the handler matches replies to them.
type Client struct {
	cfg      ClientConfig
	sock     Socket
	target   string
	pipeline *actors.Pipeline
	printer  Printer
	mu       sync.Mutex
	stats    *Stats
	started  time.Time
	ended    time.Time
	stopper  stopper
}

// NewClient wires a ping run on sock, reporting each packet to printer.
// The client closes sock when it stops.
func NewClient(sock Socket, cfg ClientConfig, printer Printer, meter *actors.Meter) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	growBuffers(sock)
	c := &Client{cfg: cfg, sock: sock, target: sock.Target().String(), printer: printer,
		stats: NewStats(cfg.Timeout, Window(cfg.Timeout, cfg.Interval))}
	p := actors.New("ping", meter)
	p.OnInterrupt(func() { sock.Close() })
	mode := actors.OwnGoroutine
	if cfg.Fused {
		mode = actors.Fused
	}
	probes := actors.Source(p, actors.Spec{Name: "pacer", Role: actors.RoleOther, Does: "schedules sends every -i"},
		c.pace, channelBuffer)
	actors.StepSink(p, actors.Spec{Name: "sender", Role: actors.RoleWriter, Does: "stamps and sends probes"},
		probes, c.sendStage(), nil, mode)
	grams := actors.Source(p, actors.Spec{Name: "reader", Role: actors.RoleReader, Does: "reads replies (and ticks)"},
		ReadDatagrams(sock, tickFor(cfg.Timeout)), channelBuffer)
	events := actors.Step(p, actors.Spec{Name: "parser", Role: actors.RoleParser, Does: "parses PING seq time"},
		grams, c.parse, nil, mode, channelBuffer)
	reports := actors.Step(p, actors.Spec{Name: "handler", Role: actors.RoleHandler, Does: "matches replies, expires probes"},
		events, c.handleStage(), nil, mode, channelBuffer)
	actors.StepSink(p, actors.Spec{Name: "writer", Role: actors.RoleWriter, Does: "prints a line per packet"},
		reports, writeReport(printer), c.endRun, mode)
	c.pipeline = p
	return c, nil
}

// tickFor is the reader's tick for a timeout: timeout lines come at most a
// tenth of the timeout late.
func tickFor(timeout time.Duration) time.Duration {
	return min(max(timeout/10, time.Millisecond), 100*time.Millisecond)
}

// Run pings until Count probes are answered or timed out, or ctx ends
// (Ctrl-C). The error is nil in both cases; it is a socket error otherwise
// (errors.Is(err, syscall.ECONNREFUSED) when nothing listens on the port).
func (c *Client) Run(ctx context.Context) error {
	c.mu.Lock()
	c.started = time.Now()
	c.mu.Unlock()
	err := c.pipeline.Run(c.stopper.context(ctx))
	// Every stage has returned: flush what an interrupt left buffered.
	if ferr := c.printer.Flush(); ferr != nil && err == nil {
		err = fmt.Errorf("print: %w", ferr)
	}
	c.mu.Lock()
	c.ended = time.Now()
	c.mu.Unlock()
	return err
}

// Stop ends a running ping, as Ctrl-C does; safe from any goroutine.
func (c *Client) Stop() { c.stopper.stop() }

// Graph returns the client pipeline's shape.
func (c *Client) Graph() actors.Graph { return c.pipeline.Graph() }

// Summary returns the statistics so far; safe while the client runs.
func (c *Client) Summary() Summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats.Summary()
	s.Target = c.target
	end := c.ended
	if end.IsZero() {
		end = time.Now()
	}
	if !c.started.IsZero() {
		s.Elapsed = ms(end.Sub(c.started))
	}
	return s
}

// pace is the pacer stage: probe n is due at start + (n−1)·interval. When
// the sender falls a little behind, due probes go out at once, so the rate
// holds on average (see schedule); a slow reply never delays a send,
// because replies are another chain.
func (c *Client) pace(ctx context.Context, out *actors.Output[Probe]) error {
	start := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	count := uint64(c.cfg.Count)
	for seq := uint64(1); count == 0 || seq <= count; seq++ {
		var due time.Time
		due, start = schedule(start, seq, c.cfg.Interval, time.Now())
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return nil
			}
		}
		if !out.Send(Probe{Seq: seq, Due: due, Last: seq == count}) {
			return nil
		}
	}
	// Done sending; only the writer ends the run (a fused sender lives in
	// this goroutine, whose return would end the pipeline).
	<-ctx.Done()
	return nil
}

// catchUp is how many intervals late the pacer may be and still send the
// probes it owes back to back (timer slack, a busy machine).
const catchUp = 10

// schedule says when probe seq is due on a schedule that began at start.
// Further than catchUp intervals behind (the process was stopped, the
// machine slept), it moves the schedule on instead, as Linux ping does:
// this probe is due now and the missed ones are never sent, rather than
// flooding the target with them. It returns the due time and the start.
func schedule(start time.Time, seq uint64, interval time.Duration, now time.Time) (due, newStart time.Time) {
	due = start.Add(time.Duration(seq-1) * interval)
	if late := now.Sub(due); late > catchUp*interval {
		return now, start.Add(late)
	}
	return due, start
}

// sendStage is the sender stage: it stamps each probe with the monotonic
// clock, records it, and writes it. Fused (ClientConfig.Fused), it runs in
// the pacer's goroutine, right when the pacer's timer fires.
func (c *Client) sendStage() actors.SinkStepFunc[Probe] {
	buf := make([]byte, 0, max(c.cfg.Size, 64))
	return func(ctx context.Context, p Probe, more bool) error {
		now := time.Now()
		buf = AppendRequest(buf[:0], p.Seq, now, c.cfg.Heartbeat, c.cfg.Size)
		c.mu.Lock()
		c.stats.Sent(p.Seq, now, p.Last)
		c.mu.Unlock()
		if err := c.sock.Send(buf); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("send seq %d: %w", p.Seq, err)
		}
		c.cfg.Bus.Publish(bus.PacketSent{Probe: c.cfg.Name, Target: c.target, Seq: p.Seq, Size: len(buf), At: now})
		return nil
	}
}

// evKind is what the parser made of a datagram.
type evKind int

const (
	evReply evKind = iota
	evMalformed
	evStray // from an address other than the target
	evTick
)

// Event is a parsed datagram for the client's handler.
type Event struct {
	kind evKind
	// Seq is the reply's sequence number (replies only).
	Seq uint64
	// At is when the datagram (or tick) was read.
	At time.Time
	// From is the sender's address; Bytes the datagram's length.
	From  string
	Bytes int
}

// parse is the client's parser stage: a batch of datagrams in, a batch of
// events out.
func (c *Client) parse(ctx context.Context, batch []Datagram, out *actors.Output[[]Event]) error {
	events := make([]Event, len(batch))
	for i, d := range batch {
		events[i] = c.parseOne(d)
	}
	out.Send(events) // false only when the pipeline is stopping
	return nil
}

func (c *Client) parseOne(d Datagram) Event {
	if d.Tick {
		return Event{At: d.At, kind: evTick}
	}
	ev := Event{At: d.At, From: d.From.String(), Bytes: len(d.Data)}
	switch m, err := ParseReply(d.Data); {
	case ev.From != c.target:
		ev.kind = evStray
	case err != nil:
		ev.kind = evMalformed
	default:
		ev.Seq = m.Seq
	}
	return ev
}

// handleStage is the client's handler stage: it expires probes whose
// timeout passed, matches replies, and finishes (actors.ErrFinished) when the
// last probe is settled, which ends the writer and the run.
func (c *Client) handleStage() actors.StepFunc[[]Event, []Report] {
	var expired []uint64
	return func(ctx context.Context, events []Event, out *actors.Output[[]Report]) error {
		var batch []Report
		done := false
		for _, ev := range events {
			var m Match
			c.mu.Lock()
			expired = c.stats.Expire(ev.At, expired[:0])
			for _, seq := range expired {
				batch = append(batch, Report{Kind: KindTimeout, Seq: seq})
			}
			switch ev.kind {
			case evReply:
				m = c.stats.Reply(ev.Seq, ev.At)
				batch = append(batch, Report{Kind: kindOf(m.Outcome), Seq: ev.Seq, From: ev.From, Bytes: ev.Bytes,
					RTT: m.RTT, Reordered: m.Reordered})
			case evMalformed:
				c.stats.Malformed()
				batch = append(batch, Report{Kind: KindMalformed, From: ev.From, Bytes: ev.Bytes})
			case evStray:
				c.stats.Stray()
				batch = append(batch, Report{Kind: KindUnmatched, From: ev.From, Bytes: ev.Bytes})
			}
			done = c.stats.Done()
			c.mu.Unlock()
			c.publish(ev, m, expired)
		}
		if len(batch) > 0 && !out.Send(batch) {
			return nil
		}
		if done {
			return actors.ErrFinished
		}
		return nil
	}
}

func (c *Client) publish(ev Event, m Match, expired []uint64) {
	if c.cfg.Bus == nil {
		return
	}
	for _, seq := range expired {
		c.cfg.Bus.Publish(bus.PacketLost{Probe: c.cfg.Name, Target: c.target, Seq: seq, At: ev.At})
	}
	if ev.kind == evReply && m.Outcome != Unmatched {
		c.cfg.Bus.Publish(bus.PacketReceived{Probe: c.cfg.Name, Target: c.target, Seq: ev.Seq, RTT: m.RTT, At: ev.At,
			Duplicate: m.Outcome == Duplicate, Late: m.Outcome == Late})
	}
}

func kindOf(o Outcome) string {
	switch o {
	case Duplicate:
		return KindDuplicate
	case Late:
		return KindLate
	case Unmatched:
		return KindUnmatched
	}
	return KindReply
}

// writeReport is the client's writer stage: it prints each report and
// flushes when no more are waiting (fused, after every batch).
func writeReport(pr Printer) actors.SinkStepFunc[[]Report] {
	return func(ctx context.Context, batch []Report, more bool) error {
		for _, r := range batch {
			if err := pr.Report(r); err != nil {
				return fmt.Errorf("print: %w", err)
			}
		}
		if !more {
			if err := pr.Flush(); err != nil {
				return fmt.Errorf("print: %w", err)
			}
		}
		return nil
	}
}

// endRun is the writer's end, once the handler has settled the last probe:
// it flushes and stops the pipeline. With its own goroutine the writer's
// return would end the run anyway; fused, the writer lives in the reader's
// goroutine, which is blocked in a read until it is stopped.
func (c *Client) endRun(ctx context.Context) error {
	err := c.printer.Flush()
	c.pipeline.Stop()
	if err != nil {
		return fmt.Errorf("print: %w", err)
	}
	return nil
}
