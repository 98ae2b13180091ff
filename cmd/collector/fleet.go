package main

import (
	"bufio"
	"io"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"netstages/actors/bus"
)

// maxSamples bounds the RTT samples kept per target and per probe (for the
// median); counts, sums and extremes cover every sample.
const maxSamples = 4096

// tailLines is how many merged access-log lines the summary keeps.
const tailLines = 50

// InstanceCounts is what one instance published.
type InstanceCounts struct {
	Events      uint64            `json:"events"`
	Requests    uint64            `json:"requests"`
	Status      map[string]uint64 `json:"status"` // "2xx", "4xx"...
	Bytes       int64             `json:"bytes"`
	ConnsOpened uint64            `json:"conns_opened"`
	ConnsClosed uint64            `json:"conns_closed"`
	ConnsActive int64             `json:"conns_active"`
	Refused     uint64            `json:"conns_refused"`
	PacketsSent uint64            `json:"packets_sent"`
	PacketsRecv uint64            `json:"packets_received"`
	PacketsLost uint64            `json:"packets_lost"`
	PeersDown   uint64            `json:"peers_down"`
	Mail        map[string]uint64 `json:"mail,omitempty"` // outcome → count
	Last        time.Time         `json:"last"`           // the latest event's own time
}

// RTTStats are ping statistics, Smokeping style: loss and the spread of
// round-trip times.
type RTTStats struct {
	Sent     uint64  `json:"sent"`
	Received uint64  `json:"received"`
	Lost     uint64  `json:"lost"`
	LossPct  float64 `json:"loss_pct"`
	MinMs    float64 `json:"min_ms"`
	AvgMs    float64 `json:"avg_ms"`
	MedianMs float64 `json:"median_ms"`
	MaxMs    float64 `json:"max_ms"`
	MdevMs   float64 `json:"mdev_ms"`
}

// TargetStats are one target's statistics over every probe, and per probe.
// A probe is an instance (the -instance of the ping that measured): every
// ping names itself "ping" in its events by default.
type TargetStats struct {
	RTTStats
	Probes map[string]RTTStats `json:"probes"`
}

// Summary is the fleet view.
type Summary struct {
	Events    uint64                    `json:"events"`
	Requests  uint64                    `json:"requests"`
	Instances map[string]InstanceCounts `json:"instances"`
	Targets   map[string]TargetStats    `json:"targets"`
	AccessLog []string                  `json:"access_log_tail"`
	Undecoded uint64                    `json:"undecoded"`
}

// rtt accumulates samples.
type rtt struct {
	sent, recv, lost uint64
	sum, sumSq       float64 // milliseconds
	min, max         float64
	samples          []float64
}

func (r *rtt) add(ms float64) {
	if r.recv == 0 || ms < r.min {
		r.min = ms
	}
	if ms > r.max {
		r.max = ms
	}
	r.recv++
	r.sum += ms
	r.sumSq += ms * ms
	if len(r.samples) == maxSamples {
		r.samples = r.samples[1:]
	}
	r.samples = append(r.samples, ms)
}

func (r *rtt) stats() RTTStats {
	s := RTTStats{Sent: r.sent, Received: r.recv, Lost: r.lost}
	if n := r.recv + r.lost; n > 0 {
		s.LossPct = 100 * float64(r.lost) / float64(n)
	}
	if r.recv == 0 {
		return s
	}
	n := float64(r.recv)
	s.MinMs, s.MaxMs, s.AvgMs = r.min, r.max, r.sum/n
	s.MdevMs = math.Sqrt(max(r.sumSq/n-s.AvgMs*s.AvgMs, 0))
	sorted := slices.Clone(r.samples)
	sort.Float64s(sorted)
	if m := len(sorted); m%2 == 1 {
		s.MedianMs = sorted[m/2]
	} else {
		s.MedianMs = (sorted[m/2-1] + sorted[m/2]) / 2
	}
	return s
}

type target struct {
	all    rtt
	probes map[string]*rtt
}

// Fleet aggregates stamped events. Safe for concurrent use.
type Fleet struct {
	mu        sync.Mutex
	events    uint64
	requests  uint64
	undecoded uint64
	instances map[string]*InstanceCounts
	targets   map[string]*target
	tail      []string
	log       *bufio.Writer // merged access log; nil for none
	format    bus.LogFormat
}

// NewFleet writes the merged access log to w (nil: none) in format, each
// line prefixed by the instance name.
func NewFleet(w io.Writer, format bus.LogFormat) *Fleet {
	f := &Fleet{instances: map[string]*InstanceCounts{}, targets: map[string]*target{}, format: format}
	if w != nil {
		f.log = bufio.NewWriter(w)
	}
	return f
}

// Undecodable counts a message that was not a valid envelope.
func (f *Fleet) Undecodable() {
	f.mu.Lock()
	f.undecoded++
	f.mu.Unlock()
}

// Add counts one event.
func (f *Fleet) Add(s bus.Stamped) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events++
	in := f.instance(s.Instance)
	in.Events++
	switch e := s.Event.(type) {
	case bus.RequestDone:
		f.requests++
		in.Requests++
		in.Status[statusClass(e.Status)]++
		in.Bytes += e.Bytes
		in.Last = latest(in.Last, e.Time)
		return f.logLine(s.Instance, e)
	case bus.ConnOpened:
		in.ConnsOpened++
		in.ConnsActive++
		in.Last = latest(in.Last, e.At)
	case bus.ConnClosed:
		in.ConnsClosed++
		in.ConnsActive--
		in.Last = latest(in.Last, e.At)
	case bus.ConnRefused:
		in.Refused++
		in.Last = latest(in.Last, e.At)
	case bus.PacketSent:
		in.PacketsSent++
		in.Last = latest(in.Last, e.At)
		t, p := f.target(e.Target, s.Instance)
		t.all.sent++
		p.sent++
	case bus.PacketReceived:
		in.PacketsRecv++
		in.Last = latest(in.Last, e.At)
		if e.Duplicate || e.Late {
			return nil
		}
		t, p := f.target(e.Target, s.Instance)
		ms := float64(e.RTT) / float64(time.Millisecond)
		t.all.add(ms)
		p.add(ms)
	case bus.PacketLost:
		in.PacketsLost++
		in.Last = latest(in.Last, e.At)
		t, p := f.target(e.Target, s.Instance)
		t.all.lost++
		p.lost++
	case bus.PeerDown:
		in.PeersDown++
		in.Last = latest(in.Last, e.At)
	case bus.MailDone:
		if in.Mail == nil {
			in.Mail = map[string]uint64{}
		}
		in.Mail[e.Outcome]++
		in.Last = latest(in.Last, e.At)
	}
	return nil
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (f *Fleet) instance(name string) *InstanceCounts {
	in := f.instances[name]
	if in == nil {
		in = &InstanceCounts{Status: map[string]uint64{}}
		f.instances[name] = in
	}
	return in
}

func (f *Fleet) target(addr, probe string) (*target, *rtt) {
	t := f.targets[addr]
	if t == nil {
		t = &target{probes: map[string]*rtt{}}
		f.targets[addr] = t
	}
	p := t.probes[probe]
	if p == nil {
		p = &rtt{}
		t.probes[probe] = p
	}
	return t, p
}

func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return string(rune('0'+code/100)) + "xx"
}

// logLine writes one merged access-log line: the instance, then the line.
func (f *Fleet) logLine(instance string, r bus.RequestDone) error {
	var line string
	switch f.format {
	case bus.FormatCombined:
		line = instance + " " + r.CombinedLog()
	default:
		line = instance + " " + r.CommonLog()
	}
	if len(f.tail) == tailLines {
		f.tail = f.tail[1:]
	}
	f.tail = append(f.tail, line)
	if f.log == nil {
		return nil
	}
	_, err := f.log.WriteString(line + "\n")
	return err
}

// Flush writes out buffered access-log lines.
func (f *Fleet) Flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.log == nil {
		return nil
	}
	return f.log.Flush()
}

// Summary returns the fleet view so far.
func (f *Fleet) Summary() Summary {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := Summary{Events: f.events, Requests: f.requests, Undecoded: f.undecoded,
		Instances: map[string]InstanceCounts{}, Targets: map[string]TargetStats{},
		AccessLog: slices.Clone(f.tail)}
	for name, in := range f.instances {
		c := *in
		c.Status = maps(in.Status)
		c.Mail = maps(in.Mail)
		s.Instances[name] = c
	}
	for addr, t := range f.targets {
		ts := TargetStats{RTTStats: t.all.stats(), Probes: map[string]RTTStats{}}
		for p, r := range t.probes {
			ts.Probes[p] = r.stats()
		}
		s.Targets[addr] = ts
	}
	return s
}

func maps(m map[string]uint64) map[string]uint64 {
	if m == nil {
		return nil
	}
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
