package ping

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Report kinds: the "type" field of -json lines.
const (
	KindReply     = "reply"     // first reply within the timeout
	KindDuplicate = "duplicate" // another reply to an answered probe
	KindLate      = "late"      // first reply after the timeout
	KindTimeout   = "timeout"   // no reply within the timeout (so far)
	KindUnmatched = "unmatched" // a reply to no probe, or from another address
	KindMalformed = "malformed" // a datagram that is not a ping reply
	KindSummary   = "summary"   // the final statistics
)

// Report is one line of ping's output.
type Report struct {
	// Kind is one of the Kind constants.
	Kind string
	// Seq is the probe's sequence number (0 for a datagram that named none).
	Seq uint64
	// From and Bytes describe the datagram, for the kinds that had one.
	From  string
	Bytes int
	// RTT is the round trip, for replies, duplicates and late replies.
	RTT time.Duration
	// Reordered marks a first reply that came after a later probe's reply.
	Reordered bool
}

// Printer writes reports: TextPrinter like Linux ping, JSONPrinter as JSON
// lines. The client's writer stage owns it.
type Printer interface {
	Report(r Report) error
	Flush() error
}

// TextPrinter prints a line per packet like Linux ping; quiet prints
// nothing per packet (ping -q).
func TextPrinter(w io.Writer, quiet bool) Printer {
	return &textPrinter{w: bufio.NewWriter(w), quiet: quiet}
}

type textPrinter struct {
	w     *bufio.Writer
	quiet bool
}

func (p *textPrinter) Flush() error { return p.w.Flush() }

func (p *textPrinter) Report(r Report) error {
	if p.quiet {
		return nil
	}
	var err error
	switch r.Kind {
	case KindReply, KindDuplicate, KindLate:
		prefix := "reply"
		if r.Kind == KindLate {
			prefix = "late reply"
		}
		_, err = fmt.Fprintf(p.w, "%s from %s: seq=%d bytes=%d time=%s ms%s\n", prefix, r.From, r.Seq, r.Bytes,
			fmtMs(r.RTT), suffix(r))
	case KindTimeout:
		_, err = fmt.Fprintf(p.w, "request timeout for seq=%d\n", r.Seq)
	case KindUnmatched:
		if r.Seq > 0 {
			_, err = fmt.Fprintf(p.w, "unmatched reply from %s: seq=%d (never sent)\n", r.From, r.Seq)
		} else {
			_, err = fmt.Fprintf(p.w, "unmatched datagram from %s (%d bytes, not the target)\n", r.From, r.Bytes)
		}
	case KindMalformed:
		_, err = fmt.Fprintf(p.w, "malformed reply from %s (%d bytes)\n", r.From, r.Bytes)
	}
	return err
}

func suffix(r Report) string {
	s := ""
	if r.Kind == KindDuplicate {
		s += " (DUP!)"
	}
	if r.Reordered {
		s += " (reordered)"
	}
	return s
}

func fmtMs(d time.Duration) string { return strconv.FormatFloat(ms(d), 'f', 3, 64) }

// JSONPrinter writes one JSON object per report (see the README for the
// field names); quiet writes none.
func JSONPrinter(w io.Writer, quiet bool) Printer {
	bw := bufio.NewWriter(w)
	return &jsonPrinter{w: bw, enc: json.NewEncoder(bw), quiet: quiet}
}

type jsonPrinter struct {
	w     *bufio.Writer
	enc   *json.Encoder
	quiet bool
}

// jsonReport is a Report on the wire.
type jsonReport struct {
	Type      string   `json:"type"`
	Seq       uint64   `json:"seq,omitempty"`
	From      string   `json:"from,omitempty"`
	Bytes     int      `json:"bytes,omitempty"`
	RTT       *float64 `json:"rtt_ms,omitempty"`
	Reordered bool     `json:"reordered,omitempty"`
}

func (p *jsonPrinter) Flush() error { return p.w.Flush() }

func (p *jsonPrinter) Report(r Report) error {
	if p.quiet {
		return nil
	}
	j := jsonReport{Type: r.Kind, Seq: r.Seq, From: r.From, Bytes: r.Bytes, Reordered: r.Reordered}
	if r.Kind == KindReply || r.Kind == KindDuplicate || (r.Kind == KindLate && r.RTT > 0) {
		v := ms(r.RTT)
		j.RTT = &v
	}
	return p.enc.Encode(j)
}

// WriteSummaryJSON writes the summary as one JSON object of type "summary".
func WriteSummaryJSON(w io.Writer, s Summary) error {
	return json.NewEncoder(w).Encode(struct {
		Type string `json:"type"`
		Summary
	}{KindSummary, s})
}

// WriteSummary writes the summary like Linux ping, plus the lines Linux
// ping lacks:
//
//	--- 127.0.0.1:12000 ping statistics ---
//	10 packets transmitted, 9 received, +1 duplicates, 10% packet loss, time 9004ms
//	1 late, 2 reordered, 0 unmatched, 0 malformed
//	rtt min/avg/max/mdev = 0.101/0.213/0.512/0.050 ms
//	rtt p50/p90/p99 = 0.200/0.300/0.512 ms, jitter 0.021 ms
func WriteSummary(w io.Writer, s Summary) error {
	_, err := fmt.Fprintf(w, "--- %s ping statistics ---\n"+
		"%d packets transmitted, %d received, +%d duplicates, %s%% packet loss, time %.0fms\n"+
		"%d late, %d reordered, %d unmatched, %d malformed\n",
		s.Target, s.Transmitted, s.Received, s.Duplicates, fmtPercent(s.LossPercent), s.Elapsed,
		s.Late, s.Reordered, s.Unmatched, s.Malformed)
	if err != nil || s.RTT == nil {
		return err
	}
	r := s.RTT
	_, err = fmt.Fprintf(w, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\nrtt p50/p90/p99 = %.3f/%.3f/%.3f ms, jitter %.3f ms\n",
		r.Min, r.Avg, r.Max, r.Mdev, r.P50, r.P90, r.P99, r.Jitter)
	return err
}

// fmtPercent prints a percentage with at most four significant digits,
// as Linux ping does ("10", "33.33").
func fmtPercent(p float64) string { return strconv.FormatFloat(p, 'g', 4, 64) }
