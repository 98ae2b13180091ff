package sim

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"netstages/actors"
)

// Config configures a Network.
type Config struct {
	// Seed seeds every fault's PRNG; the same seed gives the same fates.
	Seed uint64
	// Trace keeps a Record of every packet on every link (Link.Records).
	Trace bool
	// KeepPayloads keeps each traced packet's bytes in its Record (for pcap).
	KeepPayloads bool
	// Settle makes runs under testing/synctest reproducible to the byte:
	// each link numbers a packet only once the instant it was sent in has
	// settled (every goroutine of the bubble is blocked), numbers the
	// packets of one instant in a canonical order (by source, then
	// destination; each socket's packets keep their order), and hands
	// packets to sockets only at network instants (even nanoseconds since
	// Start), never at the transport instants in between
	// (Network.TransportInstant) where a settling transport decides. A
	// packet thus arrives up to 2 ns after its due time. On the wall clock it
	// costs a short timer per burst and guarantees nothing more.
	Settle bool
	// InFlight bounds the packets a direction holds between its faults and
	// their delivery; beyond it, senders block. Default 4096.
	InFlight int
}

// Network is a simulated network of named hosts joined by links. Build it
// with New, add hosts with Host and links with Connect; Close stops every
// link and closes every socket. All methods are safe for concurrent use.
type Network struct {
	cfg    Config
	start  time.Time
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	hosts  map[string]*Host
	links  map[[2]string]*direction // (from host, to host) → direction
	all    []*Link
	closed bool

	free     chan []byte  // recycled datagram buffers (see Buffer)
	freeSize atomic.Int64 // bytes of capacity in free
}

// maxFree bounds the bytes of recycled buffers a network keeps.
const maxFree = 16 << 20

// Buffer returns a buffer of length size for a datagram, recycled when one
// is free. Whoever ends up owning a datagram (the reader of a socket) may
// hand its buffer back with Recycle once nothing refers to it any more.
func (n *Network) Buffer(size int) []byte {
	select {
	case b := <-n.free:
		n.freeSize.Add(-int64(cap(b)))
		if cap(b) >= size {
			return b[:size]
		}
	default:
	}
	return make([]byte, size, max(size, 2048))
}

// Recycle takes back a buffer from Buffer for reuse; the caller must not
// touch it afterwards. Beyond a bound the buffer is left to the collector.
func (n *Network) Recycle(b []byte) {
	if cap(b) == 0 || n.freeSize.Load()+int64(cap(b)) > maxFree {
		return
	}
	select {
	case n.free <- b[:0]:
		n.freeSize.Add(int64(cap(b)))
	default:
	}
}

// New returns an empty network. Its clock starts now: outages and records
// are measured from here.
func New(cfg Config) *Network {
	if cfg.InFlight <= 0 {
		cfg.InFlight = 4096
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Network{cfg: cfg, start: time.Now(), ctx: ctx, cancel: cancel,
		hosts: make(map[string]*Host), links: make(map[[2]string]*direction), free: make(chan []byte, 4096)}
}

// Done is closed when the network is closed; whatever runs on it should
// stop then.
func (n *Network) Done() <-chan struct{} { return n.ctx.Done() }

// Start is when the network was created; records count time from it.
func (n *Network) Start() time.Time { return n.start }

// With Config.Settle, time is split into two phases that never meet, so that
// under testing/synctest two goroutines acting at one instant never race
// over shared state. Even nanoseconds since Start are network instants:
// links number packets and hand them to sockets only then, and what the
// receivers do at once with what arrived happens then too. Odd nanoseconds
// are transport instants: a transport that settles (sim/rdt's sender) waits
// for the next one (TransportInstant) before it reads its connection's state
// and decides what to send, and so always sees every delivery of the
// instants before, and none in progress.

// NetworkInstant returns the first network instant (an even number of
// nanoseconds since Start) at or after t.
func (n *Network) NetworkInstant(t time.Time) time.Time {
	off := t.Sub(n.start)
	if off <= 0 {
		return n.start
	}
	return t.Add(off % 2)
}

// TransportInstant returns the first transport instant (an odd number of
// nanoseconds since Start) strictly after t: when a transport that has an
// event at t may act on it once the instant has settled.
func (n *Network) TransportInstant(t time.Time) time.Time {
	off := t.Sub(n.start)
	if off < 0 {
		return n.start.Add(time.Nanosecond)
	}
	if off%2 == 0 {
		return t.Add(time.Nanosecond)
	}
	return t.Add(2 * time.Nanosecond)
}

// Host returns the host with this name, creating it on first use.
func (n *Network) Host(name string) *Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	if h := n.hosts[name]; h != nil {
		return h
	}
	h := newHost(n, name)
	n.hosts[name] = h
	return h
}

// ErrClosed is returned when the network has been closed.
var ErrClosed = errors.New("sim: network closed")

// Connect joins hosts a and b with a link whose direction a→b has the
// faults ab and b→a has ba. Each direction starts running at once.
func (n *Network) Connect(a, b string, ab, ba Faults) (*Link, error) {
	if a == b || a == "" || b == "" {
		return nil, fmt.Errorf("sim: cannot link %q to %q", a, b)
	}
	for _, f := range []Faults{ab, ba} {
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("sim: link %s-%s: %w", a, b, err)
		}
	}
	n.Host(a)
	n.Host(b)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	if n.links[[2]string{a, b}] != nil {
		return nil, fmt.Errorf("sim: %s and %s are already linked", a, b)
	}
	l := &Link{net: n, name: a + "-" + b, A: a, B: b}
	l.dirs[0] = newDirection(l, a, b, ab)
	l.dirs[1] = newDirection(l, b, a, ba)
	l.dirs[0].host, l.dirs[1].host = n.hosts[b], n.hosts[a]
	n.links[[2]string{a, b}] = l.dirs[0]
	n.links[[2]string{b, a}] = l.dirs[1]
	n.all = append(n.all, l)
	for _, d := range l.dirs {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			d.err = d.pipe.Run(n.ctx)
		}()
	}
	return l, nil
}

// Links returns the links in the order they were connected.
func (n *Network) Links() []*Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.all)
}

// Close stops every link and waits for them; packets still in flight are
// lost. Then it closes every socket on every host, so whatever waits on
// one (a reader, a listener) ends, and refuses new ones. It is safe to call
// twice.
func (n *Network) Close() error {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.cancel()
	n.wg.Wait()
	n.mu.Lock()
	hosts := slices.Collect(maps.Values(n.hosts))
	n.mu.Unlock()
	for _, h := range hosts {
		h.shutDown()
	}
	var errs []error
	for _, l := range n.Links() {
		for _, d := range l.dirs {
			errs = append(errs, d.err)
		}
	}
	return errors.Join(errs...)
}

// route finds the direction that carries packets from host a to host b.
func (n *Network) route(a, b string) *direction {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.links[[2]string{a, b}]
}

// Link joins two hosts; each direction is its own pipeline of fault stages.
type Link struct {
	net  *Network
	name string
	// A and B are the hosts; direction 0 is A→B, direction 1 is B→A.
	A, B string
	dirs [2]*direction
}

// Name is "a-b".
func (l *Link) Name() string { return l.name }

// Dir returns the direction from host from ("a" or "b" by name).
func (l *Link) dir(from string) *direction {
	if from == l.B {
		return l.dirs[1]
	}
	return l.dirs[0]
}

// SetDown takes the direction leaving host from down (true) or up (false)
// now; packets sent while it is down are dropped.
func (l *Link) SetDown(from string, down bool) { l.dir(from).down.Store(down) }

// Graph returns the stage graph of the direction leaving host from.
func (l *Link) Graph(from string) actors.Graph { return l.dir(from).pipe.Graph() }

// Stats returns the counts of the direction leaving host from.
func (l *Link) Stats(from string) DirStats { return l.dir(from).stats() }

// InFlight says how many packets of the direction leaving host from are
// between their send and their fate (delivered or dropped).
func (l *Link) InFlight(from string) int { return l.dir(from).inFlight() }

// Records returns the transcript of the direction leaving host from (only
// with Config.Trace): one Record per packet, in the order the deliver stage
// learned each fate.
func (l *Link) Records(from string) []Record {
	d := l.dir(from)
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.records)
}

// DirStats counts what one direction of a link did.
type DirStats struct {
	Link       string            `json:"link"`
	Dir        string            `json:"dir"`
	Sent       uint64            `json:"sent"`
	Delivered  uint64            `json:"delivered"` // copies handed to a socket, duplicates included
	Dropped    map[string]uint64 `json:"dropped"`   // by cause; {} when none
	Duplicated uint64            `json:"duplicated"`
	Reordered  uint64            `json:"reordered"`
	Corrupted  uint64            `json:"corrupted"`
	MaxQueue   int               `json:"max_queue"` // deepest the rate queue got
	Bytes      uint64            `json:"bytes"`     // payload bytes sent
}

// DroppedTotal sums the drops of every reason.
func (s DirStats) DroppedTotal() uint64 {
	var t uint64
	for _, v := range s.Dropped {
		t += v
	}
	return t
}

// direction is one way of a link: its ingress channel, its pipeline of
// fault stages and the deliver stage that waits until each packet is due.
// One goroutine, the ingress stage's, runs all of it (the rest is fused),
// so numbering packets and handing them over can never race each other;
// only in direct mode do senders run the chain too, one at a time.
type direction struct {
	link      *Link
	name      string // "a>b"
	from, to  string
	in        chan []*Packet
	slots     chan struct{} // one per packet in flight: bounds the heap
	pipe      *actors.Pipeline
	down      atomic.Bool
	err       error
	host      *Host // the receiving host
	delivered atomic.Uint64
	next      uint64  // packet index
	due       dueHeap // packets waiting until due

	// On a fault-free direction without Settle, senders run the fused
	// chain themselves (direct mode): sched serializes them and the
	// ingress goroutine's hand-overs, and guards next, due, scratch and
	// the stages' state.
	direct bool
	sched  sync.Mutex
	out    *actors.Output[batch] // the ingress stage's output, set before ready closes, nil once the link stops
	ready  chan struct{}
	wake   chan struct{} // a packet is due before armed
	armed  time.Time     // when the clock means to wake; zero when it waits for wake only
	// scratch holds the Packets of one direct send (see sendDirect).
	scratch     []Packet
	scratchPtrs []*Packet

	mu      sync.Mutex
	st      DirStats
	records []Record
}

func newDirection(l *Link, from, to string, f Faults) *direction {
	d := &direction{link: l, name: from + ">" + to, from: from, to: to,
		in: make(chan []*Packet, 64), slots: make(chan struct{}, l.net.cfg.InFlight),
		direct: !l.net.cfg.Settle && f.faultFree(), ready: make(chan struct{}), wake: make(chan struct{}, 1)}
	d.st = DirStats{Link: l.name, Dir: d.name, Dropped: map[string]uint64{}}
	p := actors.New("link "+d.name, nil)
	s := actors.Source(p, actors.Spec{Name: "ingress", Role: actors.RoleReader, Does: "numbers packets in send order"}, d.ingress, 4)
	// The fault stages and deliver never wait: they run fused into the
	// ingress goroutine, which also waits for the packets not yet due.
	for _, fs := range d.faultStages(f, l.net.cfg.Seed) {
		s = actors.Step(p, fs.spec, s, perPacket(fs.each), nil, actors.Fused, 4)
	}
	actors.StepSink(p, actors.Spec{Name: "deliver", Role: actors.RoleWriter, Does: "waits until due, hands to the socket"}, s, d.deliver, nil, actors.Fused)
	d.pipe = p
	return d
}

// send queues packets for this direction, in order; it blocks while the
// direction is full and gives up when stop closes. len(ps) must not exceed
// Config.InFlight.
func (d *direction) send(ps []*Packet, stop <-chan struct{}) error {
	held := 0
	release := func() {
		for range held {
			<-d.slots
		}
	}
	for range ps {
		select {
		case d.slots <- struct{}{}:
			held++
		case <-stop:
			release()
			return errStopped
		case <-d.link.net.ctx.Done():
			release()
			return ErrClosed
		}
	}
	select {
	case d.in <- ps:
		return nil
	case <-stop:
		release()
		return errStopped
	case <-d.link.net.ctx.Done():
		release()
		return ErrClosed
	}
}

// sendDirect runs the fused chain (number, faults, deliver) in the sender's
// goroutine: on a fault-free link the packets reach the far socket before
// it returns, without waking the ingress goroutine. Nothing on such a link
// waits to be due, so the Packets live only during the call: they are built
// in the direction's scratch space, not allocated.
func (d *direction) sendDirect(from, to Addr, payloads [][]byte, sent time.Time, stop <-chan struct{}) error {
	select {
	case <-d.ready:
	case <-stop:
		return errStopped
	case <-d.link.net.ctx.Done():
		return ErrClosed
	}
	d.sched.Lock()
	if d.out == nil { // the link has stopped (see clock)
		d.sched.Unlock()
		return ErrClosed
	}
	n := len(payloads)
	if cap(d.scratch) < n {
		d.scratch, d.scratchPtrs = make([]Packet, n), make([]*Packet, n)
	}
	pk, ps := d.scratch[:n], d.scratchPtrs[:n]
	for i, p := range payloads {
		pk[i] = Packet{From: from, To: to, Payload: p, Sent: sent}
		ps[i] = &pk[i]
	}
	ok := d.number(ps, d.out)
	// Wake the clock only if a packet is now due before it means to wake
	// (never on a fault-free link; kept so the rule holds if that changes).
	early := len(d.due) > 0 && (d.armed.IsZero() || d.due[0].Due.Before(d.armed))
	if early {
		d.armed = d.due[0].Due
	}
	clear(pk) // drop the payloads: the scratch space must not keep them alive
	d.sched.Unlock()
	if !ok {
		return ErrClosed
	}
	if early {
		signal(d.wake)
	}
	return nil
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// inFlight counts the packets between their send and their fate.
func (d *direction) inFlight() int {
	if !d.direct {
		return len(d.slots)
	}
	d.sched.Lock()
	defer d.sched.Unlock()
	return len(d.due)
}

// clock is the ingress goroutine in direct mode: senders run the chain
// themselves, and it only sleeps until the earliest waiting packet is due
// and hands over what is due then.
func (d *direction) clock(ctx context.Context, out *actors.Output[batch]) error {
	d.sched.Lock()
	d.out = out
	d.sched.Unlock()
	close(d.ready)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		d.sched.Lock()
		at, ok := d.nextWake(nil)
		d.armed = at // zero when nothing waits
		d.sched.Unlock()
		var wake <-chan time.Time
		if ok {
			timer.Reset(time.Until(at))
			wake = timer.C
		}
		select {
		case <-d.wake:
			timer.Stop()
		case <-wake:
			d.sched.Lock()
			d.handOverDue(time.Now())
			d.sched.Unlock()
		case <-ctx.Done():
			// When this returns the runtime ends the fused stages; no
			// sender may be in them then, nor enter them after.
			d.sched.Lock()
			d.out = nil
			d.sched.Unlock()
			return nil
		}
	}
}

var errStopped = errors.New("sim: send abandoned")

// ingress is the source stage and the direction's one goroutine. On a
// fault-free direction without Settle it is only the clock of direct mode
// (see sendDirect). Otherwise it is the direction's scheduler: it takes the
// packets senders queued, numbers them (with Settle, once their instant has
// settled), hands them on in batches through the fused fault stages to
// deliver, and sleeps until the earliest packet deliver left waiting is
// due. Numbering and handing over happen in this
// goroutine only, in a fixed order at each instant (first what has settled,
// then what is due), and only at network instants (see
// Network.NetworkInstant), so under testing/synctest no two timers of a
// direction race at one instant, and no delivery meets a transport's
// decision.
func (d *direction) ingress(ctx context.Context, out *actors.Output[batch]) error {
	if d.direct {
		return d.clock(ctx, out)
	}
	settle := d.link.net.cfg.Settle
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var pending batch // arrived, not yet numbered
	for {
		var wake <-chan time.Time
		if at, ok := d.nextWake(pending); ok {
			timer.Reset(time.Until(at))
			wake = timer.C
		}
		select {
		case ps := <-d.in:
			timer.Stop()
			pending = d.drain(append(pending, ps...))
			if !settle {
				b := pending
				pending = nil
				if !d.number(b, out) {
					return nil
				}
			}
		case <-wake:
			now := time.Now()
			if settle {
				var ready batch
				ready, pending = settled(d.drain(pending), now)
				if !d.number(ready, out) {
					return nil
				}
			}
			d.handOverDue(now)
		case <-ctx.Done():
			timer.Stop()
			return nil
		}
	}
}

// nextWake is when the ingress goroutine must wake: when the instant of the
// earliest pending packet has settled, or when the earliest waiting packet
// is due, whichever comes first. With Settle both are network instants (see
// Network.NetworkInstant).
func (d *direction) nextWake(pending batch) (time.Time, bool) {
	n := d.link.net
	var at time.Time
	ok := false
	for _, p := range pending {
		if t := n.NetworkInstant(p.Sent.Add(time.Nanosecond)); !ok || t.Before(at) {
			at, ok = t, true
		}
	}
	if len(d.due) > 0 {
		due := d.due[0].Due
		if n.cfg.Settle {
			due = n.NetworkInstant(due)
		}
		if !ok || due.Before(at) {
			at, ok = due, true
		}
	}
	return at, ok
}

// drain appends to b whatever else is waiting on the ingress channel,
// without blocking.
func (d *direction) drain(b batch) batch {
	for {
		select {
		case ps := <-d.in:
			b = append(b, ps...)
		default:
			return b
		}
	}
}

// settled splits pending packets into those sent before now, whose instant
// has settled (every packet sent then has arrived), in canonical order,
// and the rest, in arrival order. Under testing/synctest the timer that
// wakes the ingress at now fires only once every goroutine of the bubble
// is blocked, so the first part does not depend on scheduling, while
// packets sent at now itself may or may not have arrived yet: they wait
// for the next instant.
func settled(pending batch, now time.Time) (ready, rest batch) {
	for _, p := range pending {
		if p.Sent.Before(now) {
			ready = append(ready, p)
		} else {
			rest = append(rest, p)
		}
	}
	slices.SortStableFunc(ready, canonical)
	return ready, rest
}

// number gives each packet its index and hands the batch to the fused
// fault stages and deliver; it reports false when the pipeline stops.
func (d *direction) number(b batch, out *actors.Output[batch]) bool {
	if len(b) == 0 {
		return true
	}
	for _, p := range b {
		p.N = d.next
		d.next++
		p.Depart, p.Due, p.Copies = p.Sent, p.Sent, 1
	}
	return out.Send(b)
}

// canonical orders packets written at the same instant by source and
// destination; the sort is stable, so each socket's packets keep the order
// it wrote them in.
func canonical(a, b *Packet) int {
	if c := a.Sent.Compare(b.Sent); c != 0 {
		return c
	}
	if c := strings.Compare(a.From.String(), b.From.String()); c != 0 {
		return c
	}
	return strings.Compare(a.To.String(), b.To.String())
}

func (d *direction) noteQueue(n int) {
	d.mu.Lock()
	d.st.MaxQueue = max(d.st.MaxQueue, n)
	d.mu.Unlock()
}

func (d *direction) stats() DirStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.st
	s.Delivered = d.delivered.Load()
	s.Dropped = make(map[string]uint64, len(d.st.Dropped))
	for k, v := range d.st.Dropped {
		s.Dropped[k] = v
	}
	return s
}

// recordAll notes the fates of a batch as the deliver stage learns them.
func (d *direction) recordAll(b batch) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range b {
		d.record(p)
	}
}

// record notes a packet's fate, with d.mu held.
func (d *direction) record(p *Packet) {
	d.st.Sent++
	d.st.Bytes += uint64(len(p.Payload))
	if p.Drop != "" {
		d.st.Dropped[p.Drop]++
	}
	if p.Copies > 1 {
		d.st.Duplicated++
	}
	if p.Reordered {
		d.st.Reordered++
	}
	if p.Corrupted {
		d.st.Corrupted++
	}
	if !d.link.net.cfg.Trace {
		return
	}
	r := Record{N: p.N, From: p.From.String(), To: p.To.String(), Size: len(p.Payload),
		Sent: p.Sent.Sub(d.link.net.start), Drop: p.Drop, Corrupted: p.Corrupted, Reordered: p.Reordered}
	if p.Drop == "" {
		r.Due = p.Due.Sub(d.link.net.start)
		r.Copies = p.Copies
	}
	if d.link.net.cfg.KeepPayloads {
		r.Payload = slices.Clone(p.Payload)
	}
	d.records = append(d.records, r)
}

// deliver is the sink, fused into the ingress goroutine: it records each
// packet's fate, hands over at once the packets already due (a zero-latency
// link never touches a timer) and keeps the rest in a heap by (due time,
// index) for the ingress goroutine to hand over when due.
func (d *direction) deliver(ctx context.Context, b batch, _ bool) error {
	d.recordAll(b)
	now := time.Now()
	var to inbox     // where the packets handed over at once go
	var run [][]byte // their payloads, not yet handed over
	for _, p := range b {
		switch {
		case p.Drop != "":
			d.release()
		case p.Due.Equal(p.Sent) && !p.Due.After(now) && (len(d.due) == 0 || d.due[0].Due.After(now)):
			// Not delayed at all, and nothing waiting is due before it:
			// where the heap would put it first anyway. Packets of one
			// batch mostly share their endpoints: they go in one hand-off.
			if to.sock == nil || to.from != p.From || to.sock.addr != p.To {
				d.putRun(to, run)
				to, run = d.host.inbox(p.From, p.To), make([][]byte, 0, len(b))
			}
			run = appendCopies(run, p)
			d.release()
		case d.direct:
			// Not on a fault-free link; but a direct send's Packets live in
			// scratch space, so one that must wait needs its own.
			q := *p
			heap.Push(&d.due, &q)
		default:
			heap.Push(&d.due, p)
		}
	}
	d.putRun(to, run)
	d.handOverDue(now)
	return nil
}

// putRun hands payloads to their inbox in one hand-off and counts them.
// d.mu is held across both, so Stats never misses a payload its receiver
// may already have read (puts never block).
func (d *direction) putRun(to inbox, run [][]byte) {
	if len(run) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	reason, dropped := to.putCount(run)
	d.delivered.Add(uint64(len(run) - dropped))
	if dropped > 0 {
		d.st.Dropped[reason] += uint64(dropped)
	}
}

// release frees a packet's place in the direction.
func (d *direction) release() {
	if !d.direct {
		<-d.slots
	}
}

// handOverDue hands over, in (due, index) order, every packet due by now.
func (d *direction) handOverDue(now time.Time) {
	for len(d.due) > 0 && !d.due[0].Due.After(now) {
		p := heap.Pop(&d.due).(*Packet)
		d.handOver(p)
		d.release()
	}
}

// handOver gives every copy of a due packet to the destination host, each
// a hand-off of its own, counted by putRun. Duplicates are cloned before the
// original is handed over: once delivered, the receiver owns the original
// and may recycle it into a sender's next segment.
func (d *direction) handOver(p *Packet) {
	to := d.host.inbox(p.From, p.To)
	for _, payload := range appendCopies(make([][]byte, 0, p.Copies), p) {
		d.putRun(to, [][]byte{payload})
	}
}

// appendCopies appends every copy of p's payload to run: the original, then
// a clone for each duplicate. Nothing is handed over yet, so the clones are
// all made while the original is still the link's.
func appendCopies(run [][]byte, p *Packet) [][]byte {
	run = append(run, p.Payload)
	for range p.Copies - 1 {
		run = append(run, slices.Clone(p.Payload))
	}
	return run
}

// dueHeap orders packets by due time, then by index: ties go in send order.
type dueHeap []*Packet

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if c := h[i].Due.Compare(h[j].Due); c != 0 {
		return c < 0
	}
	return h[i].N < h[j].N
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(*Packet)) }
func (h *dueHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	*h = old[:len(old)-1]
	return p
}
