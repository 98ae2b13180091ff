package main

import (
	"context"
	"net"
	"slices"
	"sync"
	"time"

	"netstages/sim"
	"netstages/sim/rdt"
	"netstages/transport"
	"netstages/transport/mem"
)

// world is a sim.Network seen as one transport.Network, for the tour: a
// host springs up the first time an address names it, linked to every other
// host with the same faults (unless setLink gave a pair others); streams
// are sim/rdt. Dials come from host "client". It is safe for concurrent use.
type world struct {
	net    *sim.Network
	faults sim.Faults
	cfg    rdt.Config
	mu     sync.Mutex
	stacks map[string]*rdt.Stack
	pairs  map[[2]string]sim.Faults // links with faults of their own, by sorted host names
}

// setLink gives the link between hosts a and b, when it is made, faults of
// its own (both ways). Call it before either host is first named.
func (w *world) setLink(a, b string, f sim.Faults) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pairs == nil {
		w.pairs = make(map[[2]string]sim.Faults)
	}
	w.pairs[pairKey(a, b)] = f
}

// linkFaults returns the faults of the link between hosts a and b.
func (w *world) linkFaults(a, b string) sim.Faults {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.faultsOf(a, b)
}

// faultsOf is linkFaults with w.mu held.
func (w *world) faultsOf(a, b string) sim.Faults {
	if f, ok := w.pairs[pairKey(a, b)]; ok {
		return f
	}
	return w.faults
}

func pairKey(a, b string) [2]string {
	if b < a {
		a, b = b, a
	}
	return [2]string{a, b}
}

var _ transport.Network = (*world)(nil)

// newWorld makes a world; with keep its links record every packet with its
// payload (for -trace and -pcap).
func newWorld(seed uint64, f sim.Faults, cfg rdt.Config, keep bool) *world {
	return &world{net: sim.New(sim.Config{Seed: seed, Trace: keep, KeepPayloads: keep}), faults: f, cfg: cfg, stacks: make(map[string]*rdt.Stack)}
}

// stack returns the stack of a host, creating and linking the host on first use.
func (w *world) stack(host string) (*rdt.Stack, error) {
	if host == "" {
		host = "localhost"
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if s := w.stacks[host]; s != nil {
		return s, nil
	}
	others := make([]string, 0, len(w.stacks))
	for h := range w.stacks {
		others = append(others, h)
	}
	slices.Sort(others)
	for _, o := range others {
		f := w.faultsOf(o, host)
		if _, err := w.net.Connect(o, host, f, f); err != nil {
			return nil, err
		}
	}
	s, err := rdt.New(w.net.Host(host), w.cfg)
	if err != nil {
		return nil, err
	}
	w.stacks[host] = s
	return s, nil
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

// DialContext dials addr from host "client".
func (w *world) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if _, err := w.stack(hostOf(addr)); err != nil {
		return nil, err
	}
	s, err := w.stack("client")
	if err != nil {
		return nil, err
	}
	return s.DialContext(ctx, network, addr)
}

// Listen listens on the host named in addr.
func (w *world) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	s, err := w.stack(hostOf(addr))
	if err != nil {
		return nil, err
	}
	return s.Listen(ctx, network, addr)
}

// ListenPacket binds a datagram socket on the host named in addr.
func (w *world) ListenPacket(ctx context.Context, network, addr string) (net.PacketConn, error) {
	s, err := w.stack(hostOf(addr))
	if err != nil {
		return nil, err
	}
	return s.ListenPacket(ctx, network, addr)
}

// Close waits (up to a few seconds) for connections to finish, then stops
// every link.
func (w *world) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.mu.Lock()
	stacks := make([]*rdt.Stack, 0, len(w.stacks))
	for _, s := range w.stacks {
		stacks = append(stacks, s)
	}
	w.mu.Unlock()
	for _, s := range stacks {
		s.Wait(ctx)
	}
	return w.net.Close()
}

// records returns what every link recorded, both ways.
func (w *world) records() []sim.Record {
	var recs []sim.Record
	for _, l := range w.net.Links() {
		recs = append(recs, l.Records(l.A)...)
		recs = append(recs, l.Records(l.B)...)
	}
	return recs
}

// memNetwork is the reference network for comparisons.
func memNetwork() transport.Network { return mem.NewNetwork(0) }
