package rdt

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"netstages/actors"
	"netstages/sim"
)

func backgroundCtx() context.Context { return context.Background() }

// event is one input of the ARQ stage.
type event struct {
	ack    Segment // a segment from the peer whose ack fields matter, if hasAck
	hasAck bool
	timer  bool // the timer fired
}

// wire is one encoded segment on its way out.
type wire struct {
	seg Segment
}

// outSeg is a data or FIN packet the sender keeps until it is acknowledged.
type outSeg struct {
	seq     uint32
	kind    Kind
	payload []byte
	chunk   *chunk // the send queue's chunk payload aliases, or nil
	sentAt  time.Time
	expires time.Time
	retx    bool // sent more than once: never an RTT sample (Karn)
	tries   int  // timeouts of this packet
	acked   bool
}

// sender is the state of the ARQ stage; only that stage's goroutine touches
// it.
type sender struct {
	c                *Conn
	cfg              Config
	base, next       uint32
	segs             []*outSeg // sequence numbers base .. next-1
	slab             []outSeg  // outSegs allocated in blocks, handed out by newSeg
	wbuf             []wire    // the slice step fills, reused
	spare            []*outSeg // acknowledged outSegs, for newSeg to reuse
	peerWnd          int
	inflight         int // payload bytes in segs not yet acknowledged
	rto              rtoEstimator
	finQueued        bool
	finAcked         bool
	linger           time.Time // when set, the connection ends then
	synackAt         time.Time // when the server first sent its SYNACK
	synackResent     bool
	handshakeSampled bool
	heard            bool      // a segment from the peer arrived in this batch
	lastHeard        time.Time // when the one before arrived
	gap              time.Duration
	started          bool      // the arq stage has sent what the handshake owes
	probeAt          time.Time // when idle and waiting on the peer: the next keepalive probe
	probes           int       // keepalive probes sent since the peer was last heard
	finished         bool      // the arq stage has finished: events stops
}

func newSender(c *Conn, peerWindow int, rtt time.Duration) *sender {
	s := &sender{c: c, cfg: c.cfg, peerWnd: peerWindow, rto: newRTO(c.cfg)}
	if rtt > 0 {
		s.rto.sample(rtt)
		s.noteRTO(time.Now(), rtt)
	}
	return s
}

// wire builds the sender pipeline:
//
//	events (kicks, acks, timer) → arq (window, timers, retransmission) → tx (checksum, send)
func (s *sender) wire() *actors.Pipeline {
	c := s.c
	p := actors.New("rdt-send "+string(s.cfg.ARQ), s.cfg.SendMeter)
	evs := actors.Source(p, actors.Spec{Name: "events", Role: actors.RoleReader, Does: "merges writes, acks and timer"}, s.events, 4)
	// arq and tx never wait on anything but the link's room: they run fused
	// into the events goroutine, so a write costs no hand-off between them.
	segs := actors.Step(p, actors.Spec{Name: "arq", Role: actors.RoleHandler, Does: arqDoes(s.cfg.ARQ)}, evs, s.arq, nil, actors.Fused, 4)
	actors.StepSink(p, actors.Spec{Name: "tx", Role: actors.RoleWriter, Does: "checksums, sends datagrams"}, segs, func(ctx context.Context, b []wire, _ bool) error {
		datagrams := make([][]byte, len(b))
		for i, w := range b {
			datagrams[i] = w.seg.Append(c.net.Buffer(HeaderLen + len(w.seg.Payload))[:0])
		}
		if err := c.send(c.remote, datagrams); err != nil {
			return fmt.Errorf("send %d segments: %w", len(b), err)
		}
		return nil
	}, nil, actors.Fused)
	return p
}

func arqDoes(a ARQ) string {
	switch a {
	case StopAndWait:
		return "stop-and-wait, one timer"
	case GoBackN:
		return "go-back-N, one timer"
	case SelectiveRepeat:
		return "selective repeat, a timer per packet"
	}
	return "no retransmission"
}

// events is the source stage: it first hands on an empty batch (the arq
// stage's cue to start), then waits for any reason to act, lets the instant
// settle if asked, and hands on everything pending as one batch. It ends
// when the arq stage has finished the connection.
func (s *sender) events(ctx context.Context, out *actors.Output[[]event]) error {
	c := s.c
	if !s.settleInstant(ctx) || !out.Send(nil) || s.finished {
		return nil
	}
	for {
		var b []event
		select {
		case <-c.kick:
			b = append(b, event{})
		case a := <-c.acks:
			b = append(b, event{ack: a, hasAck: true})
		case <-c.timer.C:
			b = append(b, event{timer: true})
		case <-c.netDone:
			c.fail(fmt.Errorf("rdt: %w", sim.ErrClosed))
			return nil
		case <-ctx.Done():
			return nil
		}
		if !s.settleInstant(ctx) {
			return nil
		}
	drain:
		for {
			select {
			case <-c.kick:
			case a := <-c.acks:
				b = append(b, event{ack: a, hasAck: true})
			case <-c.timer.C:
				b = append(b, event{timer: true})
			default:
				break drain
			}
		}
		if !out.Send(b) || s.finished {
			return nil
		}
	}
}

// settleInstant waits, with Config.Settle, until the next transport instant (see
// sim.Network.TransportInstant): by then every goroutine has done what it
// does at the current instant, and no delivery is in progress, so what the
// arq stage reads next is the same in every run. It reports false when the
// pipeline stops.
func (s *sender) settleInstant(ctx context.Context) bool {
	if !s.cfg.Settle {
		return true
	}
	now := time.Now()
	t := time.NewTimer(s.c.net.TransportInstant(now).Sub(now))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// arq is the handler stage's step: acknowledgements and timeouts first,
// then new packets as the window allows, then the acknowledgements this end
// owes. Its first batch (empty, from events' start) sends what the
// handshake owes: a server its SYNACK, a client its handshake ACK; data
// waits for the first event, so the handshake is the same every run. It
// finishes when the connection is over.
func (s *sender) arq(ctx context.Context, evs []event, out *actors.Output[[]wire]) error {
	if !s.started {
		s.started = true
		out.Send(s.control(time.Now(), nil))
		return nil
	}
	b := s.step(evs)
	if len(b) > 0 && !out.Send(b) {
		return nil
	}
	s.wbuf = b[:0] // tx is fused and keeps nothing: reuse the slice
	if s.over() {
		s.finished = true
		return actors.ErrFinished
	}
	s.arm()
	return nil
}

// step handles one batch of events and returns what to send.
func (s *sender) step(evs []event) []wire {
	now := time.Now()
	out := s.wbuf[:0]
	s.heard = false
	for _, e := range evs {
		if e.hasAck {
			s.onAck(e.ack, now)
			s.heard = true
		}
	}
	if s.heard {
		s.probeAt, s.probes = time.Time{}, 0
		if !s.lastHeard.IsZero() {
			s.gap = now.Sub(s.lastHeard)
		}
		s.lastHeard = now
	}
	out = s.onTimers(now, out)
	out = s.fill(now, out)
	out = s.keepalive(now, out)
	return s.control(now, out)
}

// keepalive probes a peer this end is waiting on with nothing of its own in
// flight (no timer would otherwise run): after MaxRTO of silence it sends a
// SYNACK, which any live end answers with an ACK, and again each MaxRTO; a
// peer silent through MaxRetries probes is gone (it gave up and its RST was
// lost), and the connection ends with ETIMEDOUT instead of waiting for ever.
func (s *sender) keepalive(now time.Time, out []wire) []wire {
	s.c.mu.Lock()
	waiting := s.c.err == nil && !s.c.peerFin
	s.c.mu.Unlock()
	if !waiting || len(s.segs) > 0 || !s.linger.IsZero() || s.cfg.ARQ == Perfect {
		s.probeAt, s.probes = time.Time{}, 0
		return out
	}
	switch {
	case s.probeAt.IsZero():
		s.probeAt = now.Add(s.cfg.MaxRTO)
	case now.Before(s.probeAt):
	case s.probes >= s.cfg.MaxRetries:
		s.c.fail(fmt.Errorf("peer silent through %d keepalive probes: %w", s.probes, syscall.ETIMEDOUT))
		out = append(out, wire{seg: Segment{Kind: KindRST}})
	default:
		s.probes++
		s.probeAt = now.Add(s.cfg.MaxRTO)
		out = append(out, wire{seg: Segment{Kind: KindSYNACK}})
	}
	return out
}

func (s *sender) onAck(seg Segment, now time.Time) {
	s.peerWnd = int(seg.Window)
	if !s.synackAt.IsZero() && !s.handshakeSampled {
		// The first segment after our SYNACK: the server's first RTT
		// sample, unless the SYNACK was resent (Karn).
		s.handshakeSampled = true
		if !s.synackResent {
			s.rto.sample(now.Sub(s.synackAt))
			s.noteRTO(now, now.Sub(s.synackAt))
		}
	}
	newData := seg.Ack > s.base && seg.Ack <= s.next
	if s.cfg.ARQ == SelectiveRepeat && seg.SACK && seg.Seq >= s.base && seg.Seq < s.next {
		newData = newData || !s.segs[seg.Seq-s.base].acked
		s.ackOne(s.segs[seg.Seq-s.base], now)
	}
	if newData && !s.cfg.NoTimestamps && seg.TSecr != 0 {
		// RFC 7323 §4.1: the echoed timestamp dates the packet the peer
		// answered, whichever copy it was, so no ambiguity and no Karn.
		// The clock is 32 bits of µs: subtract modulo 2^32 so the sample
		// stays right when it wraps (every 71 minutes).
		sample := time.Duration(tsClock(now, s.c.start)-seg.TSecr) * time.Microsecond
		s.rto.sample(sample)
		s.noteRTO(now, sample)
	}
	if seg.Ack > s.base && seg.Ack <= s.next {
		for _, o := range s.segs[:seg.Ack-s.base] {
			if !o.acked && o.seq == seg.Ack-1 {
				s.ackOne(o, now) // the packet that triggered the ack: an RTT sample
			} else if !o.acked {
				o.acked = true
				s.settle(o)
			}
		}
	}
	slid := false
	s.c.mu.Lock()
	for len(s.segs) > 0 && s.segs[0].acked {
		o := s.segs[0]
		if o.kind == KindFIN {
			s.finAcked = true
		}
		if o.chunk != nil { // the send queue may reuse the chunk now
			s.c.sbuf.release(o.chunk)
			o.chunk, o.payload = nil, nil
		}
		s.segs[0] = nil
		s.spare = append(s.spare, o) // nothing else refers to it now
		s.segs = s.segs[1:]
		s.base++
		slid = true
	}
	s.c.mu.Unlock()
	if slid {
		if s.cfg.ARQ != SelectiveRepeat && len(s.segs) > 0 {
			s.segs[0].expires = now.Add(s.rto.rto) // restart the one timer for the new base
		}
	}
}

// ackOne marks a packet acknowledged and, by Karn's rule, takes an RTT
// sample only if it was sent once.
func (s *sender) ackOne(o *outSeg, now time.Time) {
	if o.acked {
		return
	}
	o.acked = true
	s.settle(o)
	if !o.retx && s.cfg.NoTimestamps {
		s.rto.sample(now.Sub(o.sentAt))
		s.noteRTO(now, now.Sub(o.sentAt))
	}
}

func (s *sender) settle(o *outSeg) {
	s.inflight -= len(o.payload)
	s.c.mu.Lock()
	s.c.stats.BytesSent += uint64(len(o.payload))
	s.c.mu.Unlock()
}

func (s *sender) noteRTO(now time.Time, sample time.Duration) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.RTO, c.stats.SRTT = s.rto.rto, s.rto.srtt
	if len(c.stats.RTOHistory) < 256 {
		c.stats.RTOHistory = append(c.stats.RTOHistory, RTOChange{At: now.Sub(c.start), RTO: s.rto.rto, Sample: sample})
	}
}

// onTimers resends what timed out: every packet in flight for go-back-N and
// stop-and-wait, only the expired ones for selective repeat. The shared RTO
// backs off (RFC 6298 5.5) when the oldest packet times out; under selective
// repeat another packet that times out backs off on its own, so one loss
// does not inflate the timers of the packets behind it.
func (s *sender) onTimers(now time.Time, out []wire) []wire {
	if s.cfg.ARQ == Perfect || len(s.segs) == 0 {
		return out
	}
	var expired []*outSeg
	if s.cfg.ARQ == SelectiveRepeat {
		for _, o := range s.segs {
			if !o.acked && !o.expires.After(now) {
				expired = append(expired, o)
			}
		}
	} else if !s.segs[0].expires.After(now) {
		expired = s.segs
	}
	if len(expired) == 0 {
		return out
	}
	if expired[0] == s.segs[0] {
		s.rto.backoff()
		s.noteRTO(now, 0)
	}
	s.c.mu.Lock()
	s.c.stats.Timeouts++
	s.c.stats.Retransmits += uint64(len(expired))
	s.c.mu.Unlock()
	for i, o := range expired {
		// Go-back-N resends the window on the oldest packet's timer: only
		// that packet timed out. Selective repeat: each expired one did.
		if i == 0 || s.cfg.ARQ == SelectiveRepeat {
			o.tries++
		}
		if o.tries > s.retryLimit() {
			// Give up, and say so: a peer still waiting gets an RST
			// rather than waiting for ever.
			if s.lastAck() {
				s.c.fail(errOver) // every byte was acknowledged both ways; only our FIN is unconfirmed
			} else {
				s.c.fail(fmt.Errorf("packet %d timed out %d times: %w", o.seq, o.tries, syscall.ETIMEDOUT))
			}
			return append(out, wire{seg: Segment{Kind: KindRST}})
		}
		wait := s.rto.rto
		if o != s.segs[0] && s.cfg.ARQ == SelectiveRepeat {
			wait = s.rto.clamp(s.rto.rto << min(o.tries, 16))
		}
		o.retx, o.sentAt, o.expires = true, now, now.Add(wait)
		out = append(out, wire{seg: Segment{Kind: o.kind, Seq: o.seq, Payload: o.payload}})
	}
	return out
}

// lastAckRetries bounds the resends of our FIN once everything else is
// acknowledged both ways (LAST-ACK). Nothing is left to deliver then, and a
// peer that has come and gone through its TIME-WAIT no longer answers
// (there is no RST from a closed port here): backing off through MaxRetries
// would hold the connection for minutes for nothing.
const lastAckRetries = 3

// retryLimit is how many times a packet may time out now: MaxRetries, or
// lastAckRetries in LAST-ACK.
func (s *sender) retryLimit() int {
	if s.lastAck() {
		return min(s.cfg.MaxRetries, lastAckRetries)
	}
	return s.cfg.MaxRetries
}

// lastAck says whether only our FIN is outstanding after the peer's FIN.
func (s *sender) lastAck() bool {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.c.peerFin && len(s.segs) == 1 && s.segs[0].kind == KindFIN
}

// fill cuts new packets from the send buffer while the window allows: at
// most Window packets in flight and no more bytes than the peer's window
// (one packet may always be in flight, as a window probe, except for perfect).
func (s *sender) fill(now time.Time, out []wire) []wire {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return out
	}
	took := false
loop:
	for len(s.segs) < s.cfg.Window && !s.finQueued {
		var o *outSeg
		switch {
		case c.sbuf.n > 0:
			size := min(s.cfg.MSS, c.sbuf.n)
			avail := s.peerWnd - s.inflight
			if avail < size {
				if s.cfg.ARQ == Perfect || s.inflight > 0 {
					if avail < min(size, s.cfg.MSS/2) || avail <= 0 {
						break loop
					}
					size = avail
				}
			}
			o = s.newSeg()
			o.kind = KindDATA
			o.payload, o.chunk = c.sbuf.take(size)
			took = true
			c.stats.DataSent++
		case c.wclosed:
			o = &outSeg{kind: KindFIN}
			s.finQueued = true
		}
		if o == nil {
			break loop
		}
		o.seq, o.sentAt, o.expires = s.next, now, now.Add(s.rto.rto)
		s.next++
		s.inflight += len(o.payload)
		s.segs = append(s.segs, o)
		out = append(out, wire{seg: Segment{Kind: o.kind, Seq: o.seq, Payload: o.payload}})
	}
	if took {
		signal(c.spaceReady)
	}
	return out
}

// newSeg returns a zeroed outSeg: an acknowledged one, or one from a block
// (one allocation per 64 packets instead of one each).
func (s *sender) newSeg() *outSeg {
	if n := len(s.spare); n > 0 {
		o := s.spare[n-1]
		s.spare = s.spare[:n-1]
		*o = outSeg{}
		return o
	}
	if len(s.slab) == 0 {
		s.slab = make([]outSeg, 64)
	}
	o := &s.slab[0]
	s.slab = s.slab[1:]
	return o
}

// control adds the handshake, acknowledgement and reset segments this end
// owes, stamps every segment with the current ack and window, and decides
// when the connection is over.
func (s *sender) control(now time.Time, out []wire) []wire {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.synack {
		c.synack = false
		if s.synackAt.IsZero() {
			s.synackAt = now
		} else {
			s.synackResent = true
		}
		out = append([]wire{{seg: Segment{Kind: KindSYNACK}}}, out...)
	}
	for _, q := range c.sacks {
		out = append(out, wire{seg: Segment{Kind: KindACK, SACK: true, Seq: q}})
	}
	if c.ackPending && len(c.sacks) == 0 && len(out) == 0 {
		out = append(out, wire{seg: Segment{Kind: KindACK}})
	}
	c.sacks, c.ackPending = c.sacks[:0], false
	// Ending: both FINs acknowledged, or ours acknowledged after Close
	// (the peer gets an RST when it has not finished), or a reset.
	if c.err == errReset && c.peerFin && len(s.segs) == 1 && s.segs[0].kind == KindFIN {
		c.err = errOver // LAST-ACK: the peer had everything and has gone
	}
	switch {
	case c.rst:
		out = append(out, wire{seg: Segment{Kind: KindRST}})
		c.rst = false
		if c.err == nil {
			c.err = errReset
		}
	case s.finAcked && (c.peerFin || c.closed) && s.linger.IsZero():
		s.linger = now.Add(timeWaitRTOs * s.rto.rto)
	case s.finAcked && c.peerFin && s.heard && now.Before(s.linger):
		// TIME-WAIT and the peer is still resending (our ACKs are being
		// lost): stay past its next two backed-off retries (2+4 gaps).
		s.linger = now.Add(max(timeWaitRTOs*s.rto.rto, 7*s.gap))
	case !s.linger.IsZero() && !now.Before(s.linger):
		if !c.peerFin {
			out = append(out, wire{seg: Segment{Kind: KindRST}})
		}
		if c.err == nil {
			c.err = errOver
		}
	}
	free := c.cfg.RcvBuf - c.rcvUsed
	tsval := tsClock(now, c.start)
	for i := range out {
		seg := &out[i].seg
		seg.Ack, seg.Window = c.rcvNext, uint32(max(free, 0))
		seg.TSval, seg.TSecr = tsval, c.tsRecent
	}
	c.lastAdv = free
	c.stats.Segments += uint64(len(out))
	return out
}

// timeWaitRTOs is how many RTOs a connection lingers after both FINs, to
// acknowledge the peer's FIN again if our ACK was lost.
const timeWaitRTOs = 4

var (
	errReset = fmt.Errorf("connection reset: %w", syscall.ECONNRESET)
	// errOver marks a connection that ended normally.
	errOver = errors.New("rdt: connection closed")
)

// over says whether the connection has ended.
func (s *sender) over() bool {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.c.err != nil
}

// arm sets the one timer to the earliest deadline: the oldest packet's
// (go-back-N), any packet's (selective repeat), or the end of lingering.
func (s *sender) arm() {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if s.cfg.ARQ != Perfect && len(s.segs) > 0 {
		if s.cfg.ARQ == SelectiveRepeat {
			for _, o := range s.segs {
				if !o.acked {
					consider(o.expires)
				}
			}
		} else {
			consider(s.segs[0].expires)
		}
	}
	consider(s.linger)
	consider(s.probeAt)
	if next.IsZero() {
		s.c.timer.Stop()
		return
	}
	s.c.timer.Reset(max(time.Until(next), 0))
}

// tsClock is the timestamp clock, TSval: µs since the connection started,
// plus one so that 0 can mean "no timestamp"; it wraps at 2^32.
func tsClock(now, start time.Time) uint32 {
	return uint32(now.Sub(start)/time.Microsecond) + 1
}
