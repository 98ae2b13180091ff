package sim

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"netstages/actors"
)

// Faults are the impairments of one direction of a link. The zero value is
// a perfect wire: no delay, no loss, unlimited rate. Each impairment that is
// set becomes one stage of the direction's pipeline, in this order:
// mtu → updown → script → rate → loss → burst → corrupt → dup → latency → reorder →
// deliver.
type Faults struct {
	// Latency is the one-way propagation delay.
	Latency time.Duration `json:"latency,omitempty" toml:"latency"`
	// Jitter adds a uniform delay in [-Jitter, +Jitter] (the total is never
	// negative). Jitter larger than the packet spacing reorders packets, as
	// with netem.
	Jitter time.Duration `json:"jitter,omitempty" toml:"jitter"`
	// Loss drops each packet independently with this probability.
	Loss float64 `json:"loss,omitempty" toml:"loss"`
	// Burst drops packets in bursts (Gilbert-Elliott); nil for none.
	Burst *GilbertElliott `json:"burst,omitempty" toml:"burst"`
	// Duplicate delivers a packet twice with this probability.
	Duplicate float64 `json:"duplicate,omitempty" toml:"duplicate"`
	// Reorder holds a packet back by ReorderDelay with this probability, so
	// the packets after it overtake it.
	Reorder float64 `json:"reorder,omitempty" toml:"reorder"`
	// ReorderDelay is how long a reordered packet is held back; default
	// Latency, at least 1 ms.
	ReorderDelay time.Duration `json:"reorder_delay,omitempty" toml:"reorder_delay"`
	// Corrupt flips one random bit of a packet with this probability.
	Corrupt float64 `json:"corrupt,omitempty" toml:"corrupt"`
	// Rate is the bandwidth in bits per second: each packet takes
	// size*8/Rate to serialize, behind the packets queued before it. 0 means
	// unlimited.
	Rate int64 `json:"rate,omitempty" toml:"rate"`
	// Queue is how many packets may wait for the wire when Rate is set; a
	// packet arriving at a full queue is dropped (tail drop). Default 64.
	Queue int `json:"queue,omitempty" toml:"queue"`
	// MTU drops packets whose payload is longer; 0 means no limit.
	MTU int `json:"mtu,omitempty" toml:"mtu"`
	// Down lists scheduled outages, in time since the network started.
	Down []Outage `json:"down,omitempty" toml:"down"`
	// DropPackets drops exactly the packets with these indices (counted
	// from 0 in this direction): scripted loss, for the textbook's figures.
	DropPackets []uint64 `json:"drop_packets,omitempty" toml:"drop_packets"`
}

// GilbertElliott is the two-state burst-loss model, with netem's parameter
// names: in the Good state a packet is lost with probability 1-K, in the Bad
// state with 1-H; after each packet the chain moves Good→Bad with
// probability P and Bad→Good with probability R. The mean burst length is
// 1/R packets.
type GilbertElliott struct {
	P float64 `json:"p" toml:"p"`
	R float64 `json:"r" toml:"r"`
	H float64 `json:"h" toml:"h"` // success probability in Bad (netem "1-h" is the loss)
	K float64 `json:"k" toml:"k"` // success probability in Good, usually 1
}

// Outage is a scheduled interval during which a direction is down.
type Outage struct {
	From time.Duration `json:"from" toml:"from"`
	To   time.Duration `json:"to" toml:"to"`
}

// Validate says what is wrong with f, if anything: a probability outside
// [0,1], a negative delay, rate, queue or MTU, an outage that ends before it
// starts. Network.Connect refuses such faults with the same error.
func (f Faults) Validate() error {
	probs := map[string]float64{"loss": f.Loss, "duplicate": f.Duplicate, "reorder": f.Reorder, "corrupt": f.Corrupt}
	if f.Burst != nil {
		probs["burst p"], probs["burst r"], probs["burst h"], probs["burst k"] = f.Burst.P, f.Burst.R, f.Burst.H, f.Burst.K
	}
	for name, p := range probs {
		if p < 0 || p > 1 || p != p {
			return fmt.Errorf("sim: %s probability %v is not in [0,1]", name, p)
		}
	}
	switch {
	case f.Latency < 0 || f.Jitter < 0 || f.ReorderDelay < 0:
		return fmt.Errorf("sim: negative delay")
	case f.Rate < 0 || f.Queue < 0 || f.MTU < 0:
		return fmt.Errorf("sim: negative rate, queue or MTU")
	}
	for _, o := range f.Down {
		if o.To < o.From {
			return fmt.Errorf("sim: outage ends (%v) before it starts (%v)", o.To, o.From)
		}
	}
	return nil
}

// Stream derives the PRNG of one fault on one link direction:
// rand.New(rand.NewPCG(seed, hash(link, dir, fault))). Each fault has its own
// stream and draws a fixed number of values for every packet of the
// direction, dropped or not, so the n-th packet's fate depends on the seed,
// the link, the direction and n only; adding a fault or a link never shifts
// another fault's draws.
func Stream(seed uint64, link, dir, fault string) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s", link, dir, fault)
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// batch is what flows between fault stages: the packets of one hand-off.
type batch = []*Packet

// stageSpec pairs a stage description with its per-packet function.
type faultStage struct {
	spec actors.Spec
	each func(p *Packet)
}

// perPacket makes a fault stage's step: it applies each to every packet of
// a batch in order and hands the batch on. The step never waits, so the
// stage runs fused into its producer's goroutine.
func perPacket(each func(p *Packet)) actors.StepFunc[batch, batch] {
	return func(ctx context.Context, b batch, out *actors.Output[batch]) error {
		for _, p := range b {
			each(p)
		}
		out.Send(b)
		return nil
	}
}

// faultStages lists the stages the faults ask for, each with its own PRNG.
func (d *direction) faultStages(f Faults, seed uint64) []faultStage {
	rng := func(name string) *rand.Rand { return Stream(seed, d.link.name, d.name, name) }
	var st []faultStage
	if f.MTU > 0 {
		mtu := f.MTU
		st = append(st, faultStage{actors.Spec{Name: "mtu", Role: actors.RoleFault, Does: fmt.Sprintf("drops payloads over %d B", mtu)},
			func(p *Packet) {
				if p.Drop == "" && len(p.Payload) > mtu {
					p.Drop = DropMTU
				}
			}})
	}
	down := f.Down
	st = append(st, faultStage{actors.Spec{Name: "updown", Role: actors.RoleFault, Does: "drops while the link is down"},
		func(p *Packet) {
			if p.Drop != "" {
				return
			}
			if d.down.Load() {
				p.Drop = DropDown
				return
			}
			at := p.Sent.Sub(d.link.net.start)
			for _, o := range down {
				if at >= o.From && at < o.To {
					p.Drop = DropDown
					return
				}
			}
		}})
	if len(f.DropPackets) > 0 {
		drop := make(map[uint64]bool, len(f.DropPackets))
		for _, n := range f.DropPackets {
			drop[n] = true
		}
		st = append(st, faultStage{actors.Spec{Name: "script", Role: actors.RoleFault, Does: fmt.Sprintf("drops packets %v", f.DropPackets)},
			func(p *Packet) {
				if drop[p.N] && p.Drop == "" {
					p.Drop = DropScript
				}
			}})
	}
	if f.Rate > 0 {
		st = append(st, faultStage{actors.Spec{Name: "rate", Role: actors.RoleFault, Does: fmt.Sprintf("%d bit/s, queue %d, tail drop", f.Rate, f.queue())},
			d.rateStage(f.Rate, f.queue())})
	}
	if f.Loss > 0 {
		r, loss := rng("loss"), f.Loss
		st = append(st, faultStage{actors.Spec{Name: "loss", Role: actors.RoleFault, Does: fmt.Sprintf("Bernoulli p=%g", loss)},
			func(p *Packet) {
				if r.Float64() < loss && p.Drop == "" {
					p.Drop = DropLoss
				}
			}})
	}
	if ge := f.Burst; ge != nil {
		r, bad := rng("burst"), false
		st = append(st, faultStage{actors.Spec{Name: "burst", Role: actors.RoleFault, Does: fmt.Sprintf("Gilbert-Elliott p=%g r=%g", ge.P, ge.R)},
			func(p *Packet) {
				move, keep := r.Float64(), r.Float64()
				success := ge.K
				if bad {
					success = ge.H
				}
				if keep >= success && p.Drop == "" {
					p.Drop = DropBurst
				}
				if bad {
					bad = move >= ge.R
				} else {
					bad = move < ge.P
				}
			}})
	}
	if f.Corrupt > 0 {
		r, prob := rng("corrupt"), f.Corrupt
		st = append(st, faultStage{actors.Spec{Name: "corrupt", Role: actors.RoleFault, Does: fmt.Sprintf("flips a bit, p=%g", prob)},
			func(p *Packet) {
				hit, where := r.Float64(), r.Uint64()
				if hit < prob && p.Drop == "" && len(p.Payload) > 0 {
					bit := where % uint64(len(p.Payload)*8)
					p.Payload[bit/8] ^= 1 << (bit % 8)
					p.Corrupted = true
				}
			}})
	}
	if f.Duplicate > 0 {
		r, prob := rng("duplicate"), f.Duplicate
		st = append(st, faultStage{actors.Spec{Name: "dup", Role: actors.RoleFault, Does: fmt.Sprintf("duplicates, p=%g", prob)},
			func(p *Packet) {
				if r.Float64() < prob && p.Drop == "" {
					p.Copies++
				}
			}})
	}
	if f.Latency > 0 || f.Jitter > 0 {
		r, lat, jit := rng("latency"), f.Latency, f.Jitter
		st = append(st, faultStage{actors.Spec{Name: "latency", Role: actors.RoleFault, Does: fmt.Sprintf("%v ± %v", lat, jit)},
			func(p *Packet) {
				u := r.Float64()
				delay := lat
				if jit > 0 {
					delay += time.Duration((2*u - 1) * float64(jit))
				}
				p.Due = p.Depart.Add(max(delay, 0))
			}})
	}
	if f.Reorder > 0 {
		r, prob, hold := rng("reorder"), f.Reorder, f.ReorderDelay
		if hold <= 0 {
			hold = max(f.Latency, time.Millisecond)
		}
		st = append(st, faultStage{actors.Spec{Name: "reorder", Role: actors.RoleFault, Does: fmt.Sprintf("holds back %v, p=%g", hold, prob)},
			func(p *Packet) {
				if r.Float64() < prob && p.Drop == "" {
					p.Due = p.Due.Add(hold)
					p.Reordered = true
				}
			}})
	}
	return st
}

// faultFree says whether the direction is a perfect wire: no delay, no
// loss, no rate, nothing scheduled (an MTU is allowed: it never waits).
func (f Faults) faultFree() bool {
	return f.Latency == 0 && f.Jitter == 0 && f.Loss == 0 && f.Burst == nil && f.Duplicate == 0 &&
		f.Reorder == 0 && f.Corrupt == 0 && f.Rate == 0 && len(f.Down) == 0 && len(f.DropPackets) == 0
}

func (f Faults) queue() int {
	if f.Queue <= 0 {
		return 64
	}
	return f.Queue
}

// rateStage models a link of rate bit/s behind a FIFO of limit packets. The
// time a packet joins the queue is its send time, so the model is exact and
// needs no sleeping: a packet departs when the one before it has departed
// plus its own serialization time.
func (d *direction) rateStage(rate int64, limit int) func(p *Packet) {
	var departures []time.Time // of packets still queued or on the wire
	var last time.Time
	return func(p *Packet) {
		if p.Drop != "" {
			return
		}
		now := p.Sent
		for len(departures) > 0 && !departures[0].After(now) {
			departures = departures[1:]
		}
		if len(departures) > limit { // one on the wire plus limit waiting
			p.Drop = DropQueue
			return
		}
		start := now
		if last.After(now) {
			start = last
		}
		bits := int64(len(p.Payload)+udpIPOverhead) * 8
		last = start.Add(time.Duration(bits * int64(time.Second) / rate))
		p.Depart = last
		p.Due = last
		departures = append(departures, last)
		d.noteQueue(len(departures) - 1)
	}
}

// udpIPOverhead is the IPv4+UDP header size counted on the wire by the rate
// stage, so a rate means what it would on a real link.
const udpIPOverhead = 28
