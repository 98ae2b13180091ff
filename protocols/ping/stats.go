package ping

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Outcome classifies one reply datagram.
type Outcome int

// Reply outcomes.
const (
	// InTime is the first reply to a probe, within its timeout.
	InTime Outcome = iota + 1
	// Duplicate is a second (or later) reply to a probe.
	Duplicate
	// Late is the first reply to a probe, after its timeout passed.
	Late
	// Unmatched is a reply whose sequence number was never sent.
	Unmatched
)

func (o Outcome) String() string {
	switch o {
	case InTime:
		return "reply"
	case Duplicate:
		return "duplicate"
	case Late:
		return "late"
	case Unmatched:
		return "unmatched"
	}
	return "unknown"
}

// Match is what Stats made of one reply.
type Match struct {
	Outcome Outcome
	// RTT is arrival minus send time on the monotonic clock (zero for
	// Unmatched, and for a reply to a probe too old to remember).
	RTT time.Duration
	// Reordered is a first reply that arrived after the reply to a later
	// probe.
	Reordered bool
}

// probeState is what Stats remembers of one probe.
type probeState struct {
	seq      uint64
	sentAt   time.Time
	answered bool // a first reply arrived (in time or late)
	expired  bool // its timeout passed with no reply
}

// maxSamples bounds the RTT samples kept for percentiles; past it a
// reservoir sample of this size stands for all of them.
const maxSamples = 1 << 20

// Stats is the client's bookkeeping: which probes were sent when, which
// were answered, and the RTT statistics. It is a plain value, not safe for
// concurrent use: the client guards it with a mutex shared by its sender
// and handler stages. Probes are sent with seq 1, 2, 3… in order.
//
// Memory is bounded: the state of the last window probes is kept in a ring
// (a reply to an older probe is counted late, without an RTT), and at most
// 2^20 RTT samples feed the percentiles.
type Stats struct {
	timeout time.Duration
	ring    []probeState
	sent    uint64 // highest seq sent
	last    uint64 // seq of the last probe, 0 while unknown
	expNext uint64 // next seq whose timeout is checked

	received, duplicates, late, unmatched, reordered, malformed uint64
	maxAnswered                                                 uint64
	pending                                                     int // sent, neither answered nor expired

	// RTT moments of in-time replies.
	n          uint64
	sum, sumSq float64 // in seconds, for mean and mdev
	min, max   time.Duration
	jitter     float64 // RFC 3550 J, nanoseconds
	prevRTT    time.Duration
	samples    []time.Duration
	reservoir  *rand.Rand
}

// NewStats returns Stats for probes that time out after timeout. window is
// how many recent probes to remember (at least timeout/interval, so no
// probe is forgotten before its timeout).
func NewStats(timeout time.Duration, window int) *Stats {
	if window < 16 {
		window = 16
	}
	return &Stats{
		timeout:   timeout,
		ring:      make([]probeState, window),
		expNext:   1,
		reservoir: rand.New(rand.NewPCG(0x5eed, 0x9e3779b97f4a7c15)),
	}
}

// Window is the ring size NewStats needs for probes sent every interval
// with the given timeout: twice the probes in flight, at least 64, at most
// 2^20.
func Window(timeout, interval time.Duration) int {
	if interval <= 0 {
		return 1 << 20
	}
	w := 2*int(min(timeout/interval, 1<<20)) + 64
	return min(w, 1<<20)
}

func (s *Stats) slot(seq uint64) *probeState { return &s.ring[seq%uint64(len(s.ring))] }

// Sent records that probe seq left at at; last marks the final probe.
// Probes must be recorded in order: seq is s.Sent()+1.
func (s *Stats) Sent(seq uint64, at time.Time, last bool) {
	old := s.slot(seq)
	if old.seq != 0 && !old.answered && !old.expired {
		s.pending-- // overwritten before its timeout: the window was too small
	}
	*old = probeState{seq: seq, sentAt: at}
	s.sent = seq
	s.pending++
	if last {
		s.last = seq
	}
}

// Reply classifies a reply to seq that arrived at at.
func (s *Stats) Reply(seq uint64, at time.Time) Match {
	if seq == 0 || seq > s.sent {
		s.unmatched++
		return Match{Outcome: Unmatched}
	}
	p := s.slot(seq)
	if p.seq != seq { // too old to remember: it has long timed out
		s.late++
		return Match{Outcome: Late}
	}
	rtt := at.Sub(p.sentAt)
	if p.answered {
		s.duplicates++
		return Match{Outcome: Duplicate, RTT: rtt}
	}
	p.answered = true
	m := Match{RTT: rtt, Reordered: seq < s.maxAnswered}
	if m.Reordered {
		s.reordered++
	}
	s.maxAnswered = max(s.maxAnswered, seq)
	if !p.expired {
		s.pending--
	}
	if p.expired || rtt > s.timeout {
		p.expired = true
		s.late++
		m.Outcome = Late
		return m
	}
	s.received++
	s.addRTT(rtt)
	m.Outcome = InTime
	return m
}

// addRTT adds an in-time RTT to the moments, the RFC 3550 jitter and the
// percentile samples.
func (s *Stats) addRTT(rtt time.Duration) {
	sec := rtt.Seconds()
	if s.n == 0 {
		s.min, s.max = rtt, rtt
	} else {
		s.min, s.max = min(s.min, rtt), max(s.max, rtt)
		// RFC 3550 §6.4.1: D is the change in transit time between
		// consecutive packets; J += (|D| − J)/16. With both clocks ours, the
		// transit time is the RTT.
		d := math.Abs(float64(rtt - s.prevRTT))
		s.jitter += (d - s.jitter) / 16
	}
	s.prevRTT = rtt
	s.n++
	s.sum += sec
	s.sumSq += sec * sec
	if len(s.samples) < maxSamples {
		s.samples = append(s.samples, rtt)
	} else if j := s.reservoir.Uint64N(s.n); j < maxSamples { // Algorithm R
		s.samples[j] = rtt
	}
}

// Malformed counts a reply that did not parse.
func (s *Stats) Malformed() { s.malformed++ }

// Stray counts a datagram from an address other than the target as an
// unmatched reply.
func (s *Stats) Stray() { s.unmatched++ }

// Expire marks as timed out every probe sent at least timeout before now
// that has no reply, and appends their seqs to into, in order.
func (s *Stats) Expire(now time.Time, into []uint64) []uint64 {
	for s.expNext <= s.sent {
		p := s.slot(s.expNext)
		if p.seq == s.expNext {
			if now.Sub(p.sentAt) < s.timeout {
				break
			}
			if !p.answered {
				p.expired = true
				s.pending--
				into = append(into, s.expNext)
			}
		}
		s.expNext++
	}
	return into
}

// Done reports whether the last probe has been sent and every probe is
// answered or timed out.
func (s *Stats) Done() bool {
	return s.last != 0 && s.sent >= s.last && s.pending == 0
}

// Summary is the final report. Durations are in milliseconds in JSON.
type Summary struct {
	// Target is the address pinged.
	Target string `json:"target"`
	// Elapsed is the run's length in milliseconds.
	Elapsed     float64 `json:"elapsed_ms"`
	Transmitted uint64  `json:"transmitted"`
	// Received counts first replies within their timeout.
	Received uint64 `json:"received"`
	// Duplicates counts replies to a probe already answered.
	Duplicates uint64 `json:"duplicates"`
	// Late counts first replies after their timeout: not lost, not received.
	Late uint64 `json:"late"`
	// Lost counts probes with no reply at all (still waiting ones included
	// when the run was interrupted).
	Lost uint64 `json:"lost"`
	// LossPercent is Lost / Transmitted × 100.
	LossPercent float64 `json:"loss_percent"`
	// Reordered counts first replies that came after a later probe's reply.
	Reordered uint64 `json:"reordered"`
	// Unmatched counts replies to a sequence number never sent.
	Unmatched uint64 `json:"unmatched"`
	// Malformed counts datagrams that were not ping replies.
	Malformed uint64 `json:"malformed"`
	// RTT statistics over in-time replies; nil when there were none.
	RTT *RTTSummary `json:"rtt,omitempty"`
}

// RTTSummary holds the round-trip statistics, all in milliseconds.
type RTTSummary struct {
	Min  float64 `json:"min_ms"`
	Avg  float64 `json:"avg_ms"`
	Max  float64 `json:"max_ms"`
	Mdev float64 `json:"mdev_ms"` // population standard deviation, as Linux ping
	P50  float64 `json:"p50_ms"`  // nearest-rank percentiles
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	// Jitter is the RFC 3550 interarrival jitter of the RTTs, in arrival order.
	Jitter float64 `json:"jitter_ms"`
}

// Summary computes the report so far.
func (s *Stats) Summary() Summary {
	sum := Summary{
		Transmitted: s.sent, Received: s.received, Duplicates: s.duplicates, Late: s.late,
		Reordered: s.reordered, Unmatched: s.unmatched, Malformed: s.malformed,
	}
	sum.Lost = s.sent - s.received - s.late
	if s.sent > 0 {
		sum.LossPercent = float64(sum.Lost) / float64(s.sent) * 100
	}
	if s.n == 0 {
		return sum
	}
	mean := s.sum / float64(s.n)
	sorted := slices.Clone(s.samples)
	slices.Sort(sorted)
	sum.RTT = &RTTSummary{
		Min: ms(s.min), Avg: mean * 1e3, Max: ms(s.max),
		Mdev:   math.Sqrt(max(0, s.sumSq/float64(s.n)-mean*mean)) * 1e3,
		P50:    ms(Percentile(sorted, 50)),
		P90:    ms(Percentile(sorted, 90)),
		P99:    ms(Percentile(sorted, 99)),
		Jitter: s.jitter / 1e6,
	}
	return sum
}

// Percentile is the nearest-rank p-th percentile of sorted: the smallest
// value with at least p% of the values at or below it.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
