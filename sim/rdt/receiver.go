package rdt

import (
	"context"

	"netstages/actors"
)

// delivery is a run of in-order bytes for the application, or its end.
type delivery struct {
	data     []byte
	datagram []byte // the buffer data aliases, recycled once data is read
	fin      bool
}

// receiver is the state of the receiver pipeline's stages.
type receiver struct {
	c   *Conn
	cfg Config
	ooo map[uint32]Segment // selective repeat: packets buffered ahead of a gap

	// Scratch slices reused batch after batch: the stages after rx are
	// fused, so each batch is finished with when Send returns.
	segScratch []Segment
	runScratch []delivery
}

func newReceiver(c *Conn) *receiver {
	return &receiver{c: c, cfg: c.cfg, ooo: make(map[uint32]Segment)}
}

// wire builds the receiver pipeline:
//
//	rx (datagrams) → verify (checksum, decode, acks to the sender) →
//	reassemble (in order, window, what to acknowledge) → deliver (to Read)
func (r *receiver) wire() *actors.Pipeline {
	c := r.c
	p := actors.New("rdt-recv "+string(r.cfg.ARQ), r.cfg.RecvMeter)
	if c.sock != nil {
		p.OnInterrupt(func() { c.sock.Close() })
	}
	raw := actors.Source(p, actors.Spec{Name: "rx", Role: actors.RoleReader, Does: "receives datagrams"}, r.rx, 4)
	// verify, reassemble and deliver run fused into the rx goroutine: a
	// batch of datagrams reaches Read without a hand-off.
	segs := actors.Step(p, actors.Spec{Name: "verify", Role: actors.RoleParser, Does: "checksum, decode, acks to sender"}, raw, r.verify, nil, actors.Fused, 4)
	runs := actors.Step(p, actors.Spec{Name: "reassemble", Role: actors.RoleHandler, Does: reassembleDoes(r.cfg.ARQ)}, segs, r.reassemble, nil, actors.Fused, 4)
	actors.StepSink(p, actors.Spec{Name: "deliver", Role: actors.RoleWriter, Does: "hands bytes to Read"}, runs, r.deliver, nil, actors.Fused)
	return p
}

func reassembleDoes(a ARQ) string {
	if a == SelectiveRepeat {
		return "buffers out of order, acks each"
	}
	return "accepts in order only, acks cumulatively"
}

// rx is the source: datagrams from the peer, from the conn's own socket
// (client) or from the listener's demux (server), handed on in batches of
// whatever has arrived.
func (r *receiver) rx(ctx context.Context, out *actors.Output[[][]byte]) error {
	c := r.c
	// verify, reassemble and deliver are fused: when Send returns they are
	// done with the batch, so one slice serves every batch.
	b := make([][]byte, 0, rxBatch)
	for {
		clear(b)
		b = b[:0]
		if c.sock != nil {
			d, err := c.sock.Recv()
			if err != nil {
				return nil // closed by the interrupt
			}
			for {
				if d.From == c.remote {
					b = append(b, d.Payload)
				}
				if len(b) >= rxBatch {
					break
				}
				var ok bool
				if d, ok = c.sock.TryRecv(); !ok {
					break
				}
			}
			if len(b) == 0 {
				continue
			}
		} else {
			select {
			case ps := <-c.inbound:
				b = append(b, ps...)
			case <-ctx.Done():
				return nil
			}
		drain:
			for len(b) < rxBatch {
				select {
				case ps := <-c.inbound:
					b = append(b, ps...)
				default:
					break drain
				}
			}
		}
		if !out.Send(b) {
			return nil
		}
	}
}

// rxBatch bounds the datagrams rx hands on at once.
const rxBatch = 64

// verify checks and decodes segments. Corrupt ones are dropped and counted;
// acknowledgements go to the sender; data and FIN go on.
func (r *receiver) verify(ctx context.Context, batch [][]byte, out *actors.Output[[]Segment]) error {
	c := r.c
	data := r.segScratch[:0] // fused: reassemble is done with it when Send returns
	var last Segment         // the last segment passed to the sender, if fwd
	fwd := false
	for _, b := range batch {
		seg, err := Decode(b)
		if err != nil {
			c.mu.Lock()
			c.stats.Corrupt++
			c.mu.Unlock()
			continue
		}
		switch seg.Kind {
		case KindRST:
			c.fail(errReset)
			continue
		case KindSYN: // the SYNACK was lost: send it again
			c.mu.Lock()
			c.synack = true
			c.mu.Unlock()
			signal(c.kick)
			continue
		case KindSYNACK: // our handshake ACK was lost
			c.mu.Lock()
			c.ackPending = true
			c.mu.Unlock()
			signal(c.kick)
			continue
		}
		// A data segment's ack fields matter to the sender only when they
		// differ from the last ones passed on from this batch: in a bulk
		// transfer one per batch instead of one per segment.
		if seg.Kind != KindDATA || !fwd || seg.Ack != last.Ack || seg.Window != last.Window {
			select {
			case c.acks <- seg:
			case <-ctx.Done():
				return nil
			}
			last, fwd = seg, true
		}
		// The payload aliases the datagram, which the sim handed over
		// for good (each duplicate is its own copy): no copy needed.
		if seg.Kind == KindDATA || seg.Kind == KindFIN {
			data = append(data, seg)
		}
	}
	if len(data) > 0 {
		out.Send(data)
	}
	clear(data) // drop the datagram references until the next batch
	r.segScratch = data[:0]
	return nil
}

// reassemble is the receiving half of the ARQ: go-back-N and stop-and-wait
// accept only the next packet in order; selective repeat buffers packets
// within its window ahead of a gap. Every data packet is acknowledged.
func (r *receiver) reassemble(ctx context.Context, segs []Segment, out *actors.Output[[]delivery]) error {
	c := r.c
	runs := r.runScratch[:0]
	c.mu.Lock()
	for _, seg := range segs {
		runs = r.accept(seg, runs)
	}
	c.mu.Unlock()
	signal(c.kick)
	if len(runs) > 0 {
		out.Send(runs)
	}
	clear(runs)
	r.runScratch = runs[:0]
	return nil
}

// accept handles one data or FIN packet with c.mu held.
func (r *receiver) accept(seg Segment, runs []delivery) []delivery {
	c := r.c
	c.ackPending = true
	c.tsRecent = seg.TSval
	sr := r.cfg.ARQ == SelectiveRepeat
	switch {
	case seg.Seq < c.rcvNext: // a duplicate: acknowledge it again
		c.stats.Duplicates++
		if sr {
			c.sacks = append(c.sacks, seg.Seq)
		}
		return runs
	case c.closed && seg.Kind == KindDATA: // nobody will read it
		c.rst = true
		return runs
	case seg.Seq > c.rcvNext:
		c.stats.OutOfOrder++
		if !sr || seg.Seq-c.rcvNext >= uint32(r.cfg.Window) {
			return runs
		}
		if _, dup := r.ooo[seg.Seq]; dup {
			c.stats.Duplicates++
		} else if !r.fits(seg) {
			return runs
		} else {
			r.ooo[seg.Seq] = seg
			c.rcvUsed += len(seg.Payload)
		}
		c.sacks = append(c.sacks, seg.Seq)
		return runs
	}
	if !r.fits(seg) { // in order but no room: the sender will retry
		return runs
	}
	c.rcvUsed += len(seg.Payload)
	if sr {
		c.sacks = append(c.sacks, seg.Seq)
	}
	for {
		c.rcvNext++
		if seg.Kind == KindFIN {
			c.peerFin = true
			return append(runs, delivery{fin: true})
		}
		runs = append(runs, delivery{data: seg.Payload, datagram: seg.datagram})
		next, ok := r.ooo[c.rcvNext]
		if !ok {
			return runs
		}
		delete(r.ooo, c.rcvNext)
		seg = next
	}
}

func (r *receiver) fits(seg Segment) bool {
	return r.c.rcvUsed+len(seg.Payload) <= r.cfg.RcvBuf
}

// deliver is the sink: it appends in-order bytes to what Read returns.
func (r *receiver) deliver(ctx context.Context, runs []delivery, _ bool) error {
	c := r.c
	c.mu.Lock()
	for _, d := range runs {
		switch {
		case d.fin:
			c.eof = true
		case c.rclosed || c.closed:
			c.rcvUsed -= len(d.data)
		default:
			c.rbuf.pushOwned(d.data, d.datagram)
		}
	}
	c.mu.Unlock()
	signal(c.dataReady)
	return nil
}
