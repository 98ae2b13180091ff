package ping

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"

	"netstages/actors"
	"netstages/actors/bus"
)

// Echo modes of the server.
const (
	EchoUpper = "upper" // echo upper-cased, like the textbook server
	EchoSame  = "same"  // echo unchanged
)

// ServerConfig configures pingd.
type ServerConfig struct {
	// Name names the server in events and logs. Default "pingd".
	Name string
	// Loss is the fraction of requests dropped, 0 to 1.
	Loss float64
	// Delay delays every echo; Jitter adds a uniform draw in [−Jitter,
	// +Jitter] to it (the sum is at least 0). Delayed echoes never hold up
	// other requests.
	Delay, Jitter time.Duration
	// Seed seeds the server's own PRNGs: the n-th request's fate (dropped or
	// not, its delay) depends only on Seed and n.
	Seed uint64
	// Echo is EchoUpper (default) or EchoSame.
	Echo string
	// HeartbeatTimeout, when positive, turns on heartbeat tracking: a client
	// sending heartbeats that falls silent this long is reported down.
	HeartbeatTimeout time.Duration
	// MaxPeers bounds the heartbeat clients tracked at once. Default 4096.
	MaxPeers int
	// MaxDelayed bounds the delayed echoes waiting at once; past it a
	// request is dropped and counted as Overflow. Default 65536.
	MaxDelayed int
	// MaxDelayedBytes bounds the bytes those delayed echoes hold (a
	// datagram may be 64 KiB, so a count alone does not bound memory); past
	// it a request is dropped and counted as Overflow. Default 32 MiB.
	MaxDelayedBytes int
	// Bus receives PacketLost (missing heartbeats), PeerDown and PeerBack; nil
	// publishes nothing.
	Bus *bus.Bus
	// Log receives the heartbeat reports and per-datagram debug logs.
	Log *slog.Logger
	// Fused runs the parser, handler and writer inside the reader's
	// goroutine (actors.Fused): the same stages and graph, one goroutine for
	// the whole server, and no hand-off between reading a request and
	// sending its echo. False gives each stage a goroutine of its own.
	// cmd/pingd turns it on by default.
	Fused bool
}

func (c ServerConfig) withDefaults() ServerConfig {
	if c.Name == "" {
		c.Name = "pingd"
	}
	if c.Echo == "" {
		c.Echo = EchoUpper
	}
	if c.MaxPeers <= 0 {
		c.MaxPeers = 4096
	}
	if c.MaxDelayed <= 0 {
		c.MaxDelayed = 65536
	}
	if c.MaxDelayedBytes <= 0 {
		c.MaxDelayedBytes = 32 << 20
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports a configuration error.
func (c ServerConfig) Validate() error {
	switch {
	case !(c.Loss >= 0 && c.Loss <= 1): // NaN too: it would never drop
		return fmt.Errorf("loss %v is not between 0 and 1", c.Loss)
	case c.Delay < 0 || c.Jitter < 0 || c.HeartbeatTimeout < 0:
		return fmt.Errorf("delay, jitter and heartbeat timeout must not be negative")
	case c.Echo != "" && c.Echo != EchoUpper && c.Echo != EchoSame:
		return fmt.Errorf("echo mode %q is not %q or %q", c.Echo, EchoUpper, EchoSame)
	}
	return nil
}

// ServerCounts are the server's running totals.
type ServerCounts struct {
	Received  uint64 `json:"received"`  // datagrams read
	Echoed    uint64 `json:"echoed"`    // echoes written
	Dropped   uint64 `json:"dropped"`   // requests dropped by -loss
	Malformed uint64 `json:"malformed"` // datagrams not beginning with "Ping "
	Delayed   uint64 `json:"delayed"`   // echoes sent after a delay
	Failed    uint64 `json:"failed"`    // echoes whose write failed
	Overflow  uint64 `json:"overflow"`  // delayed echoes dropped: MaxDelayed or MaxDelayedBytes were waiting
}

// Server is a running pingd: one pipeline over one datagram socket serves
// every client.
type Server struct {
	cfg      ServerConfig
	pc       net.PacketConn
	pipeline *actors.Pipeline
	counts   struct{ received, echoed, dropped, malformed, delayed, failed, overflow atomic.Uint64 }
	timers   timerSet
	stopper  stopper
}

// NewServer wires pingd's pipeline on pc; Run serves until ctx ends or pc
// fails. The server closes pc when it stops.
func NewServer(pc net.PacketConn, cfg ServerConfig, meter *actors.Meter) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg.withDefaults(), pc: pc}
	growBuffers(pc)
	p := actors.New("pingd", meter)
	p.OnInterrupt(func() {
		s.timers.stopAll()
		pc.Close()
	})
	tick := time.Duration(0)
	if s.cfg.HeartbeatTimeout > 0 {
		tick = max(s.cfg.HeartbeatTimeout/10, time.Millisecond)
	}
	mode := actors.OwnGoroutine
	if s.cfg.Fused {
		mode = actors.Fused
	}
	grams := actors.Source(p, actors.Spec{Name: "reader", Role: actors.RoleReader, Does: "reads datagrams (and ticks)"},
		ReadDatagrams(pc, tick), channelBuffer)
	reqs := actors.Step(p, actors.Spec{Name: "parser", Role: actors.RoleParser, Does: "checks the Ping prefix"},
		grams, s.parseStage(), nil, mode, channelBuffer)
	echoes := actors.Step(p, actors.Spec{Name: "handler", Role: actors.RoleHandler, Does: "loss, delay, heartbeats"},
		reqs, s.handleStage(), nil, mode, channelBuffer)
	actors.StepSink(p, actors.Spec{Name: "writer", Role: actors.RoleWriter, Does: "sends echoes, now or later"},
		echoes, s.writeStage(), nil, mode)
	s.pipeline = p
	return s, nil
}

// channelBuffer is the capacity of every channel between stages.
const channelBuffer = 64

// Run serves until ctx is cancelled or the socket fails.
func (s *Server) Run(ctx context.Context) error {
	return s.pipeline.Run(s.stopper.context(ctx))
}

// Stop stops the server; safe from any goroutine, before or during Run.
func (s *Server) Stop() { s.stopper.stop() }

// Graph returns the server pipeline's shape.
func (s *Server) Graph() actors.Graph { return s.pipeline.Graph() }

// Counts returns the running totals; safe to call while the server runs.
func (s *Server) Counts() ServerCounts {
	return ServerCounts{
		Received: s.counts.received.Load(), Echoed: s.counts.echoed.Load(), Dropped: s.counts.dropped.Load(),
		Malformed: s.counts.malformed.Load(), Delayed: s.counts.delayed.Load(), Failed: s.counts.failed.Load(),
		Overflow: s.counts.overflow.Load(),
	}
}

// Request is a parsed datagram for the server's handler.
type Request struct {
	Datagram
	// Msg is the parsed request; Parsed is false when only the "Ping "
	// prefix was there (still echoed).
	Msg    Message
	Parsed bool
}

// parseStage is the server's parser stage: it counts and drops datagrams
// that are not requests and passes ticks through.
func (s *Server) parseStage() actors.StepFunc[[]Datagram, []Request] {
	return func(ctx context.Context, batch []Datagram, out *actors.Output[[]Request]) error {
		reqs := make([]Request, 0, len(batch))
		for _, d := range batch {
			r := Request{Datagram: d}
			if !d.Tick {
				s.counts.received.Add(1)
				m, ok, err := ParseRequest(d.Data)
				if err != nil {
					s.counts.malformed.Add(1)
					s.cfg.Log.Debug("malformed datagram dropped", "from", d.From, "bytes", len(d.Data))
					continue
				}
				r.Msg, r.Parsed = m, ok
			}
			reqs = append(reqs, r)
		}
		if len(reqs) > 0 {
			out.Send(reqs) // false only when the pipeline is stopping
		}
		return nil
	}
}

// EchoOut is one echo for the writer.
type EchoOut struct {
	// To is the client's address; Data the bytes to send back.
	To   net.Addr
	Data []byte
	// Delay is how long to hold the echo; 0 sends it at once.
	Delay time.Duration
}

// Fates draws each request's fate from two PRNGs owned by the server and
// seeded from its seed, one per fault, so that changing -delay never
// changes which requests are dropped.
type Fates struct {
	loss, delay   float64
	jitter        float64
	lossRNG, dRNG *rand.Rand
}

// NewFates returns the fate source for a server configuration.
func NewFates(cfg ServerConfig) *Fates {
	return &Fates{
		loss: cfg.Loss, delay: float64(cfg.Delay), jitter: float64(cfg.Jitter),
		lossRNG: rand.New(rand.NewPCG(cfg.Seed, 0x6c6f7373)), // "loss"
		dRNG:    rand.New(rand.NewPCG(cfg.Seed, 0x64656c61)), // "dela"
	}
}

// Next returns the next request's fate: dropped, or echoed after delay.
func (f *Fates) Next() (drop bool, delay time.Duration) {
	drop = f.lossRNG.Float64() < f.loss
	d := f.delay
	if f.jitter > 0 {
		d += (f.dRNG.Float64()*2 - 1) * f.jitter
	}
	return drop, time.Duration(max(d, 0))
}

// Drops returns which of the first n requests a server with this seed and
// loss drops (index 0 is the first request): what a test or the tour
// expects to see lost.
func Drops(seed uint64, loss float64, n int) []bool {
	f := NewFates(ServerConfig{Seed: seed, Loss: loss})
	out := make([]bool, n)
	for i := range out {
		out[i], _ = f.Next()
	}
	return out
}

// handleStage is the server's handler stage: the loss and delay draws, the
// echo itself, and heartbeat tracking on ticks and requests. Its state (the
// PRNGs, the heartbeat table) lives in the closure, so it runs the same in
// a goroutine of its own or fused into the reader's.
func (s *Server) handleStage() actors.StepFunc[[]Request, []EchoOut] {
	fates := NewFates(s.cfg)
	var peers *Heartbeats
	if s.cfg.HeartbeatTimeout > 0 {
		peers = NewHeartbeats(s.cfg.HeartbeatTimeout, s.cfg.MaxPeers)
	}
	var notes []Note
	return func(ctx context.Context, reqs []Request, out *actors.Output[[]EchoOut]) error {
		echoes := make([]EchoOut, 0, len(reqs))
		for _, r := range reqs {
			if peers != nil {
				if r.Tick {
					notes = peers.Tick(r.At, notes[:0])
				} else if r.Parsed && r.Msg.Heartbeat {
					notes = peers.Beat(r.From.String(), r.Msg.Seq, r.At, notes[:0])
				}
				s.report(notes)
				notes = notes[:0]
			}
			if r.Tick {
				continue
			}
			drop, delay := fates.Next()
			if drop {
				s.counts.dropped.Add(1)
				continue
			}
			data := r.Data
			if s.cfg.Echo == EchoUpper {
				upperInPlace(data) // the reader's copy is ours
			}
			echoes = append(echoes, EchoOut{To: r.From, Data: data, Delay: delay})
		}
		if len(echoes) > 0 {
			out.Send(echoes) // false only when the pipeline is stopping
		}
		return nil
	}
}

// writeStage is the server's writer stage: echoes without delay go out at
// once, a batch of them in one sendmmsg(2) on a real UDP socket; a delayed
// one is handed to a timer, whose goroutine writes it (WriteTo is safe for
// concurrent use), so it holds up nobody — not even the reader when the
// writer is fused into its goroutine.
func (s *Server) writeStage() actors.SinkStepFunc[[]EchoOut] {
	bw := batchConnOf(s.pc)
	var now []EchoOut
	var msgs []ipv4.Message
	return func(ctx context.Context, batch []EchoOut, more bool) error {
		now = now[:0]
		for _, e := range batch {
			if e.Delay <= 0 {
				now = append(now, e)
				continue
			}
			if !s.timers.after(e.Delay, len(e.Data), s.delayLimits(), func() { s.send(e) }) {
				s.counts.overflow.Add(1)
				continue
			}
			s.counts.delayed.Add(1)
		}
		if bw == nil || len(now) < 2 {
			for _, e := range now {
				s.send(e)
			}
		} else {
			msgs = s.sendBatch(bw, now, msgs[:0])
		}
		clear(now) // drop the references to sent datagrams
		return nil
	}
}

// sendBatch writes echoes with sendmmsg; a message the kernel refuses is
// counted as failed and the rest still go out.
func (s *Server) sendBatch(bw batchConn, echoes []EchoOut, msgs []ipv4.Message) []ipv4.Message {
	for _, e := range echoes {
		msgs = append(msgs, ipv4.Message{Buffers: [][]byte{e.Data}, Addr: e.To})
	}
	for rest := msgs; len(rest) > 0; {
		n, err := bw.WriteBatch(rest, 0)
		s.counts.echoed.Add(uint64(n))
		rest = rest[n:]
		if err != nil && len(rest) > 0 {
			s.counts.failed.Add(1)
			s.cfg.Log.Debug("echo failed", "to", rest[0].Addr, "err", err)
			rest = rest[1:]
		} else if err != nil || n == 0 {
			break
		}
	}
	return msgs
}

// send writes one echo. A failed write to one client (e.g. its port is
// gone) is counted and logged, never fatal to the server.
func (s *Server) send(e EchoOut) {
	if _, err := s.pc.WriteTo(e.Data, e.To); err != nil {
		s.counts.failed.Add(1)
		s.cfg.Log.Debug("echo failed", "to", e.To, "err", err)
		return
	}
	s.counts.echoed.Add(1)
}

// stopper lets Stop cancel Run's context from another goroutine.
type stopper struct {
	mu      sync.Mutex
	cancel  context.CancelFunc
	stopped bool
}

func (s *stopper) context(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancel = cancel
	if s.stopped {
		cancel()
	}
	return ctx
}

func (s *stopper) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.cancel != nil {
		s.cancel()
	}
}

// delayLimits is how many delayed echoes, and how many bytes of them, may
// wait at once.
func (s *Server) delayLimits() delayLimits {
	return delayLimits{count: s.cfg.MaxDelayed, bytes: s.cfg.MaxDelayedBytes}
}

// delayLimits bounds a timerSet.
type delayLimits struct{ count, bytes int }

// timerSet holds the timers of delayed echoes so that stopping the server
// cancels them, and the bytes those echoes hold.
type timerSet struct {
	mu      sync.Mutex
	next    uint64
	timers  map[uint64]*time.Timer
	bytes   int
	stopped bool
}

// after runs f after d, unless the set is stopped or adding an echo of size
// bytes would pass a limit; it reports whether f was scheduled.
func (t *timerSet) after(d time.Duration, size int, limits delayLimits, f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || len(t.timers) >= limits.count || t.bytes+size > limits.bytes {
		return false
	}
	if t.timers == nil {
		t.timers = make(map[uint64]*time.Timer)
	}
	id := t.next
	t.next++
	t.bytes += size
	t.timers[id] = time.AfterFunc(d, func() {
		t.mu.Lock()
		_, live := t.timers[id]
		if live {
			delete(t.timers, id)
			t.bytes -= size
		}
		t.mu.Unlock()
		if live {
			f()
		}
	})
	return true
}

func (t *timerSet) stopAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	for id, tm := range t.timers {
		tm.Stop()
		delete(t.timers, id)
	}
	t.bytes = 0
}

// report logs and publishes heartbeat notes.
func (s *Server) report(notes []Note) {
	for _, n := range notes {
		switch n.Kind {
		case NoteLost:
			s.cfg.Log.Info(fmt.Sprintf("lost %d heartbeats from %s (seq %d-%d)", n.Last-n.First+1, n.Peer, n.First, n.Last))
			for seq := n.First; seq <= n.Last && seq < n.First+maxLostEvents; seq++ {
				s.cfg.Bus.Publish(bus.PacketLost{Probe: s.cfg.Name, Target: n.Peer, Seq: seq, At: n.At})
			}
		case NoteDown:
			s.cfg.Log.Info(fmt.Sprintf("client %s down", n.Peer), "last_seq", n.Last, "silence", n.Gap)
			s.cfg.Bus.Publish(bus.PeerDown{Server: s.cfg.Name, Peer: n.Peer, LastSeq: n.Last, Silence: n.Gap, At: n.At})
		case NoteBack:
			s.cfg.Log.Info(fmt.Sprintf("client %s back", n.Peer), "seq", n.Last, "down_for", n.Gap)
			s.cfg.Bus.Publish(bus.PeerBack{Server: s.cfg.Name, Peer: n.Peer, Seq: n.Last, Down: n.Gap, At: n.At})
		}
	}
}

// maxLostEvents bounds the PacketLost events published for one gap.
const maxLostEvents = 64
