package rdt

import (
	"fmt"
	"time"

	"netstages/actors"
)

// ARQ is the retransmission scheme of a connection.
type ARQ string

// The schemes.
const (
	// StopAndWait is rdt3.0: one packet in flight, one timer. Its sequence
	// numbers count packets; with one in flight only their parity matters, so
	// it is the alternating-bit protocol.
	StopAndWait ARQ = "saw"
	// GoBackN keeps up to Window packets in flight with one timer for the
	// oldest; the receiver accepts only the next in order and acknowledges
	// cumulatively; a timeout resends every packet in flight.
	GoBackN ARQ = "gbn"
	// SelectiveRepeat keeps a timer per packet and resends only the one that
	// timed out; the receiver buffers out-of-order packets within its window
	// and acknowledges each one.
	SelectiveRepeat ARQ = "sr"
	// Perfect assumes a lossless link: no timers, no retransmission; the
	// receiver's window still paces the sender. It stalls if a packet is lost.
	Perfect ARQ = "perfect"
)

// ParseARQ reads "saw", "gbn", "sr" or "perfect".
func ParseARQ(s string) (ARQ, error) {
	switch a := ARQ(s); a {
	case StopAndWait, GoBackN, SelectiveRepeat, Perfect:
		return a, nil
	}
	return "", fmt.Errorf("rdt: unknown ARQ %q (want saw, gbn, sr or perfect)", s)
}

// Config configures a Stack. Zero fields take the defaults shown.
type Config struct {
	// ARQ is the scheme; default SelectiveRepeat.
	ARQ ARQ
	// Window is the most packets in flight (gbn, sr, perfect); default 32.
	// Stop-and-wait always uses 1.
	Window int
	// MSS is the largest payload per segment; default 1200 bytes.
	MSS int
	// RcvBuf is the receive buffer, the most bytes the peer may send ahead of
	// the application's reads (the advertised window); default 256 KiB.
	RcvBuf int
	// SndBuf is how many written bytes wait to be cut into segments before
	// Write blocks; default 256 KiB.
	SndBuf int
	// InitialRTO is the RTO before the first RTT sample; default 1 s (RFC 6298).
	InitialRTO time.Duration
	// MinRTO and MaxRTO clamp the RTO; defaults 200 ms and 60 s.
	MinRTO, MaxRTO time.Duration
	// NoTimestamps takes RTT samples by Karn's rule alone: only from a
	// packet sent once. By default every ACK for new data gives a sample
	// from the timestamp it echoes (RFC 7323 §4), retransmitted or not.
	// Without that, go-back-N at a few percent loss resends almost every
	// packet before it is acknowledged, gets no samples, and backs its RTO
	// off to MaxRTO (a lab shows it).
	NoTimestamps bool
	// MaxRetries is how many times one packet may time out before the
	// connection aborts with ETIMEDOUT, how many SYNs Dial sends, and how
	// many keepalive probes (one per MaxRTO) an idle end waiting for a
	// silent peer sends before it aborts; default 12.
	MaxRetries int
	// Settle makes the sender wait until the current instant has settled
	// before it decides what to send, so that under testing/synctest every
	// run sends the same packets in the same order (see package doc).
	Settle bool
	// SendMeter and RecvMeter count the sender and receiver pipelines of
	// every connection; nil gives each connection meters of its own.
	SendMeter, RecvMeter *actors.Meter
	// OnDone, if set, is called with a connection's statistics when it ends.
	OnDone func(Stats)
}

func (c Config) withDefaults() (Config, error) {
	if c.ARQ == "" {
		c.ARQ = SelectiveRepeat
	}
	if _, err := ParseARQ(string(c.ARQ)); err != nil {
		return c, err
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Window, 32)
	def(&c.MSS, 1200)
	def(&c.RcvBuf, 256<<10)
	def(&c.SndBuf, 256<<10)
	def(&c.MaxRetries, 12)
	if c.ARQ == StopAndWait {
		c.Window = 1
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defd(&c.InitialRTO, time.Second)
	defd(&c.MinRTO, 200*time.Millisecond)
	defd(&c.MaxRTO, 60*time.Second)
	if c.RcvBuf < c.MSS {
		return c, fmt.Errorf("rdt: RcvBuf %d is smaller than MSS %d", c.RcvBuf, c.MSS)
	}
	if c.Window > 1<<16 {
		return c, fmt.Errorf("rdt: window %d is over 65536 packets", c.Window)
	}
	return c, nil
}

// Stats describe one connection; Conn.Stats returns them live.
type Stats struct {
	ARQ         ARQ           `json:"arq"`
	Local       string        `json:"local"`
	Remote      string        `json:"remote"`
	Duration    time.Duration `json:"duration"`
	Segments    uint64        `json:"segments"`     // segments sent, retransmissions included
	DataSent    uint64        `json:"data_sent"`    // distinct data packets sent
	Retransmits uint64        `json:"retransmits"`  // data and FIN packets sent again
	Timeouts    uint64        `json:"timeouts"`     // timer expiries
	BytesSent   uint64        `json:"bytes_sent"`   // payload bytes acknowledged by the peer
	BytesRecvd  uint64        `json:"bytes_recvd"`  // payload bytes delivered in order
	Corrupt     uint64        `json:"corrupt"`      // segments dropped for a bad checksum
	OutOfOrder  uint64        `json:"out_of_order"` // data packets that arrived ahead of a gap
	Duplicates  uint64        `json:"duplicates"`   // data packets that arrived again
	SRTT        time.Duration `json:"srtt"`
	RTO         time.Duration `json:"rto"`
	RTOHistory  []RTOChange   `json:"rto_history,omitempty"` // first 256 changes
	Err         string        `json:"err,omitempty"`
}

// RTOChange is one step of the RTO: a new RTT sample or a backoff.
type RTOChange struct {
	At     time.Duration `json:"at"` // since the connection opened
	RTO    time.Duration `json:"rto"`
	Sample time.Duration `json:"sample,omitempty"` // the RTT measured; 0 for a backoff
}

// rtoEstimator is RFC 6298: SRTT and RTTVAR from samples of packets sent
// once (Karn's rule is the caller's: never sample a retransmitted packet),
// and exponential backoff on timeouts.
type rtoEstimator struct {
	srtt, rttvar, rto time.Duration
	min, max          time.Duration
	sampled           bool
}

func newRTO(cfg Config) rtoEstimator {
	return rtoEstimator{rto: cfg.InitialRTO, min: cfg.MinRTO, max: cfg.MaxRTO}
}

// clockGranularity is G of RFC 6298.
const clockGranularity = time.Millisecond

func (e *rtoEstimator) sample(r time.Duration) {
	if !e.sampled {
		e.srtt, e.rttvar, e.sampled = r, r/2, true
	} else {
		diff := e.srtt - r
		if diff < 0 {
			diff = -diff
		}
		e.rttvar = (3*e.rttvar + diff) / 4
		e.srtt = (7*e.srtt + r) / 8
	}
	e.rto = e.clamp(e.srtt + max(clockGranularity, 4*e.rttvar))
}

func (e *rtoEstimator) backoff() { e.rto = e.clamp(2 * e.rto) }

func (e *rtoEstimator) clamp(d time.Duration) time.Duration { return min(max(d, e.min), e.max) }
