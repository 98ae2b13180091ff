package rdt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"netstages/sim"
	"netstages/transport"
)

// Stack gives a sim host reliable streams: it implements transport.Network,
// with DialContext and Listen over the host's datagrams and ListenPacket
// passed through. A Stack is safe for concurrent use.
type Stack struct {
	host *sim.Host
	cfg  Config

	mu   sync.Mutex
	live int             // connections and listeners still running
	idle []chan struct{} // closed when live drops to zero
}

// hold counts one more running connection or listener.
func (s *Stack) hold() {
	s.mu.Lock()
	s.live++
	s.mu.Unlock()
}

// drop counts one fewer and wakes Wait when none is left.
func (s *Stack) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live--
	if s.live == 0 {
		for _, ch := range s.idle {
			close(ch)
		}
		s.idle = nil
	}
}

// Wait blocks until every connection and listener of the stack has ended
// (connections linger after Close until the peer has acknowledged
// everything) or ctx ends. Tests under testing/synctest call it before they
// return, because a bubble must be empty when its main goroutine exits.
func (s *Stack) Wait(ctx context.Context) error {
	s.mu.Lock()
	if s.live == 0 {
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.idle = append(s.idle, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var _ transport.Network = (*Stack)(nil)

// New returns a Stack for host.
func New(host *sim.Host, cfg Config) (*Stack, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Stack{host: host, cfg: cfg}, nil
}

// Config returns the stack's configuration, defaults filled in.
func (s *Stack) Config() Config { return s.cfg }

// Host returns the host the stack runs on.
func (s *Stack) Host() *sim.Host { return s.host }

func checkStream(network string) error {
	switch network {
	case "tcp", "tcp4", "tcp6", "rdt":
		return nil
	}
	return fmt.Errorf("rdt: unsupported stream network %q", network)
}

// ListenPacket opens a datagram socket on the host.
func (s *Stack) ListenPacket(ctx context.Context, network, addr string) (net.PacketConn, error) {
	return s.host.ListenPacket(ctx, network, addr)
}

// DialContext opens a connection to addr ("host:port"): SYN, SYNACK, then
// the pipelines start and the first segment acknowledges the SYNACK. SYNs are
// resent with exponential backoff from InitialRTO; the SYN's RTT is the first
// sample unless it was resent (Karn).
func (s *Stack) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := checkStream(network); err != nil {
		return nil, err
	}
	raddr, err := sim.ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	sock, err := s.host.Bind("udp", s.host.Name()+":0")
	if err != nil {
		return nil, err
	}
	opErr := func(err error) error {
		sock.Close()
		return &net.OpError{Op: "dial", Net: "rdt", Source: sock.Addr(), Addr: raddr, Err: err}
	}
	stop := context.AfterFunc(ctx, func() { sock.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	rto := s.cfg.InitialRTO
	for try := range s.cfg.MaxRetries {
		sent := time.Now()
		if err := sock.Send(raddr, Segment{Kind: KindSYN, Window: uint32(s.cfg.RcvBuf)}.Append(nil)); err != nil {
			return nil, opErr(err)
		}
		sock.SetReadDeadline(sent.Add(rto))
		for {
			d, err := sock.Recv()
			if ctx.Err() != nil {
				return nil, opErr(ctx.Err())
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return nil, opErr(err)
			}
			seg, err := Decode(d.Payload)
			if err != nil || d.From != raddr {
				continue
			}
			switch seg.Kind {
			case KindRST:
				return nil, opErr(syscall.ECONNREFUSED)
			case KindSYNACK:
				sock.SetReadDeadline(time.Time{})
				var rtt time.Duration
				if try == 0 {
					rtt = time.Since(sent)
				}
				c := newConn(s.cfg, sock.Addr(), raddr, sock.SendBatch)
				c.sock = sock
				c.net = s.host.Network()
				c.rbuf.recycle = c.net.Recycle
				c.netDone = c.net.Done()
				c.release = func() { sock.Close(); s.drop() }
				c.ackPending = true
				s.hold()
				c.run(int(seg.Window), rtt)
				return c, nil
			}
		}
		rto = min(2*rto, s.cfg.MaxRTO)
	}
	return nil, opErr(fmt.Errorf("no answer to %d SYNs: %w", s.cfg.MaxRetries, syscall.ETIMEDOUT))
}

// Listen binds addr and accepts connections on it. Every connection's
// datagrams share the listener's socket; a demultiplexer hands each to its
// connection by the peer's address.
func (s *Stack) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	if err := checkStream(network); err != nil {
		return nil, err
	}
	sock, err := s.host.Bind("udp", addr)
	if err != nil {
		return nil, err
	}
	l := &Listener{stack: s, sock: sock, backlog: make(chan *Conn, backlog),
		conns: make(map[sim.Addr]*Conn), ended: make(map[sim.Addr]bool), done: make(chan struct{}), gone: make(chan struct{})}
	s.hold()
	go l.demux()
	return l, nil
}

// backlog is how many connections wait for Accept; SYNs beyond are ignored.
const backlog = 128

// inboundQueue is how many batches of datagrams (each what one link hand-off
// carried) wait for one connection's receiver.
const inboundQueue = 1024

// Listener accepts rdt connections. It is safe for concurrent use.
type Listener struct {
	stack   *Stack
	sock    *sim.PacketConn
	backlog chan *Conn
	done    chan struct{} // closed by Close
	gone    chan struct{} // closed when the socket has closed under it
	goneErr error         // why, set before gone closes

	mu     sync.Mutex
	conns  map[sim.Addr]*Conn
	ended  map[sim.Addr]bool // peers whose connection is over: late SYNs are ignored
	closed bool
}

// demux reads the listener's socket until it closes and routes each
// datagram: to its connection, to a new connection for a SYN, or an RST.
func (l *Listener) demux() {
	defer l.stack.drop()
	for {
		d, err := l.sock.Recv()
		if err != nil {
			l.goneErr = err
			close(l.gone)
			return
		}
		l.route(d)
		// Route whatever else has arrived without waiting again.
		for range inboundQueue {
			if d, ok := l.sock.TryRecv(); ok {
				l.route(d)
			} else {
				break
			}
		}
	}
}

func (l *Listener) route(d sim.Datagram) {
	l.mu.Lock()
	c := l.conns[d.From]
	if c != nil {
		l.mu.Unlock()
		select {
		case c.inbound <- [][]byte{d.Payload}:
		default: // the connection is not keeping up: lost, as in a full NIC ring
		}
		return
	}
	defer l.mu.Unlock()
	seg, err := Decode(d.Payload)
	if err != nil {
		return
	}
	switch {
	case seg.Kind == KindSYN && l.ended[d.From]: // a late copy of an old SYN
	case seg.Kind == KindSYN && !l.closed && len(l.backlog) < cap(l.backlog):
		c := newConn(l.stack.cfg, l.sock.Addr(), d.From, l.sock.SendBatch)
		c.inbound = make(chan [][]byte, inboundQueue)
		c.net = l.stack.host.Network()
		c.rbuf.recycle = c.net.Recycle
		c.netDone = c.net.Done()
		c.synack = true
		c.release = func() { l.remove(d.From); l.stack.drop() }
		l.stack.hold()
		l.conns[d.From] = c
		l.sock.Route(d.From, c.inbound) // its datagrams skip demux from now on
		c.run(int(seg.Window), 0)
		l.backlog <- c
	case seg.Kind != KindRST && seg.Kind != KindSYN:
		l.sock.Send(d.From, Segment{Kind: KindRST}.Append(nil))
	}
}

// remove forgets an ended connection; the last one out after Close closes
// the socket.
func (l *Listener) remove(peer sim.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, peer)
	l.sock.Route(peer, nil)
	if len(l.ended) >= 1<<16 {
		clear(l.ended)
	}
	l.ended[peer] = true
	if l.closed && len(l.conns) == 0 {
		l.sock.Close()
	}
}

// Accept waits for the next connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.backlog:
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: "rdt", Addr: l.sock.Addr(), Err: net.ErrClosed}
	case <-l.gone: // the network closed the socket
		return nil, &net.OpError{Op: "accept", Net: "rdt", Addr: l.sock.Addr(), Err: l.goneErr}
	}
}

// Close stops accepting. Connections not yet accepted are closed; accepted
// ones go on, and the socket closes when the last one ends.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return &net.OpError{Op: "close", Net: "rdt", Addr: l.sock.Addr(), Err: net.ErrClosed}
	}
	l.closed = true
	close(l.done)
	if len(l.conns) == 0 {
		l.sock.Close()
	}
	l.mu.Unlock()
	for {
		select {
		case c := <-l.backlog:
			c.Close()
		default:
			return nil
		}
	}
}

// Addr returns the listening address (a sim.Addr).
func (l *Listener) Addr() net.Addr { return l.sock.Addr() }
