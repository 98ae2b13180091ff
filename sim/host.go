package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"netstages/transport"
	"netstages/transport/deadline"
)

// SocketQueue is how many datagrams a socket holds before it drops new ones,
// like a UDP receive buffer.
const SocketQueue = 1024

// Host is a named machine on the network. It gives datagram sockets
// (ListenPacket) in the transport.Network shape; streams come from a
// reliable transport built on them (package sim/rdt), so DialContext and
// Listen report ErrNoStreams. A Host is safe for concurrent use.
type Host struct {
	net      *Network
	name     string
	mu       sync.Mutex
	sockets  map[int]*PacketConn
	nextPort int
	down     bool // its network is closed: no new sockets
}

var _ transport.Network = (*Host)(nil)

// ErrNoStreams is what a bare Host says to DialContext and Listen: wrap it
// with a reliable transport (sim/rdt) for streams.
var ErrNoStreams = errors.New("sim: a bare host has datagrams only; use sim/rdt for streams")

func newHost(n *Network, name string) *Host {
	return &Host{net: n, name: name, sockets: make(map[int]*PacketConn), nextPort: 49152}
}

// Name returns the host's name.
func (h *Host) Name() string { return h.name }

// Network returns the network the host is on.
func (h *Host) Network() *Network { return h.net }

// DialContext fails with ErrNoStreams.
func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return nil, &net.OpError{Op: "dial", Net: network, Err: ErrNoStreams}
}

// Listen fails with ErrNoStreams.
func (h *Host) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	return nil, &net.OpError{Op: "listen", Net: network, Err: ErrNoStreams}
}

// ListenPacket binds a datagram socket at addr: "host:port" where host is
// this host's name or empty, port 0 for a free one.
func (h *Host) ListenPacket(ctx context.Context, network, addr string) (net.PacketConn, error) {
	return h.Bind(network, addr)
}

// Bind is ListenPacket returning the concrete socket.
func (h *Host) Bind(network, addr string) (*PacketConn, error) {
	switch network {
	case "udp", "udp4", "udp6", "sim":
	default:
		return nil, fmt.Errorf("sim: unsupported datagram network %q", network)
	}
	a, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	if a.Host != "" && a.Host != h.name {
		return nil, fmt.Errorf("sim: host %s cannot bind %s: %w", h.name, addr, syscall.EADDRNOTAVAIL)
	}
	a.Host = h.name
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		return nil, fmt.Errorf("sim: host %s: network closed: %w", h.name, net.ErrClosed)
	}
	if a.Port == 0 {
		for range 16384 {
			h.nextPort++
			if h.nextPort > 65535 {
				h.nextPort = 49152
			}
			if h.sockets[h.nextPort] == nil {
				a.Port = h.nextPort
				break
			}
		}
		if a.Port == 0 {
			return nil, fmt.Errorf("sim: no free port on %s", h.name)
		}
	} else if h.sockets[a.Port] != nil {
		return nil, fmt.Errorf("sim: %s: %w", a, syscall.EADDRINUSE)
	}
	c := &PacketConn{host: h, addr: a, queue: make(chan datagram, SocketQueue), done: make(chan struct{}),
		readDeadline: deadline.New(), writeDeadline: deadline.New()}
	h.sockets[a.Port] = c
	return c, nil
}

// shutDown closes every socket bound on the host and refuses new ones, so
// whatever still waits on one (a listener's demultiplexer, a reader) ends.
func (h *Host) shutDown() {
	h.mu.Lock()
	h.down = true
	open := slices.Collect(maps.Values(h.sockets))
	h.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

// deliver hands a payload to the socket bound at to; it returns a drop
// reason when it cannot.
func (h *Host) deliver(from, to Addr, payload []byte) string {
	return h.inbox(from, to).put(payload)
}

// inbox is where datagrams from one address to another go: a socket's
// queue, or the queue its route for that peer names.
type inbox struct {
	from  Addr
	sock  *PacketConn
	route chan [][]byte
}

// inbox looks up where datagrams from from to to go now.
func (h *Host) inbox(from, to Addr) inbox {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.sockets[to.Port]
	if c == nil {
		return inbox{from: from}
	}
	return inbox{from: from, sock: c, route: c.routes[from]}
}

// put queues one payload, or returns why it was dropped.
func (in inbox) put(payload []byte) string {
	reason, _ := in.putCount([][]byte{payload})
	return reason
}

// putCount queues payloads in order and returns why and how many were
// dropped: a route takes them as one item, whole or not at all; a socket's
// queue takes them one by one.
func (in inbox) putCount(payloads [][]byte) (string, int) {
	switch {
	case in.sock == nil:
		return DropUnbound, len(payloads)
	case in.route != nil:
		select {
		case in.route <- payloads:
			return "", 0
		default:
			return DropRcvBuf, len(payloads)
		}
	}
	dropped := 0
	for _, p := range payloads {
		select {
		case in.sock.queue <- datagram{from: in.from, payload: p}:
		default:
			dropped++
		}
	}
	if dropped > 0 {
		return DropRcvBuf, dropped
	}
	return "", 0
}

type datagram struct {
	from    Addr
	payload []byte
}

// PacketConn is a sim datagram socket; it implements net.PacketConn.
type PacketConn struct {
	host          *Host
	addr          Addr
	queue         chan datagram
	routes        map[Addr]chan [][]byte // guarded by host.mu; see Route
	done          chan struct{}
	closeOnce     sync.Once
	readDeadline  *deadline.Deadline
	writeDeadline *deadline.Deadline
}

var _ net.PacketConn = (*PacketConn)(nil)

// ReadFrom waits for the next datagram and copies it into b; a longer
// datagram is truncated, as with UDP.
func (c *PacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	d, err := c.Recv()
	if err != nil {
		return 0, nil, err
	}
	return copy(b, d.Payload), d.From, nil
}

// Datagram is a received datagram.
type Datagram struct {
	From    Addr
	Payload []byte
}

// Recv waits for the next datagram without copying it.
func (c *PacketConn) Recv() (Datagram, error) {
	if deadline.Closed(c.readDeadline.Wait()) {
		return Datagram{}, c.opError("read", os.ErrDeadlineExceeded)
	}
	select {
	case d := <-c.queue:
		return Datagram{From: d.from, Payload: d.payload}, nil
	case <-c.done:
		return Datagram{}, c.opError("read", net.ErrClosed)
	case <-c.readDeadline.Wait():
		return Datagram{}, c.opError("read", os.ErrDeadlineExceeded)
	}
}

// TryRecv returns the next datagram if one is waiting, without blocking.
func (c *PacketConn) TryRecv() (Datagram, bool) {
	select {
	case d := <-c.queue:
		return Datagram{From: d.from, Payload: d.payload}, true
	default:
		return Datagram{}, false
	}
}

// WriteTo sends b to addr through the link between the two hosts. It fails
// with EHOSTUNREACH when no link joins them; a packet lost on the way is not
// an error, as with UDP.
func (c *PacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	to, ok := addr.(Addr)
	if !ok {
		var err error
		if to, err = ParseAddr(addr.String()); err != nil {
			return 0, c.opError("write", err)
		}
	}
	return len(b), c.Send(to, slices.Clone(b))
}

// Send is WriteTo that takes ownership of payload instead of copying it.
func (c *PacketConn) Send(to Addr, payload []byte) error {
	return c.SendBatch(to, [][]byte{payload})
}

// sendChunk bounds how many packets SendBatch hands to a link at once.
const sendChunk = 64

// SendBatch sends several datagrams to one address, in order, taking
// ownership of each; the link receives them with one hand-off per
// sendChunk packets instead of one per packet.
func (c *PacketConn) SendBatch(to Addr, payloads [][]byte) error {
	if deadline.Closed(c.done) {
		return c.opError("write", net.ErrClosed)
	}
	if deadline.Closed(c.writeDeadline.Wait()) {
		return c.opError("write", os.ErrDeadlineExceeded)
	}
	now := time.Now()
	if to.Host == c.host.name {
		for _, p := range payloads {
			c.host.deliver(c.addr, to, p)
		}
		return nil
	}
	d := c.host.net.route(c.host.name, to.Host)
	if d == nil {
		return c.opError("write", fmt.Errorf("no link from %s to %s: %w", c.host.name, to.Host, syscall.EHOSTUNREACH))
	}
	if d.direct {
		if err := d.sendDirect(c.addr, to, payloads, now, c.done); err != nil {
			if errors.Is(err, errStopped) {
				return c.opError("write", net.ErrClosed)
			}
			return c.opError("write", err)
		}
		return nil
	}
	chunk := min(sendChunk, c.host.net.cfg.InFlight)
	for len(payloads) > 0 {
		n := min(chunk, len(payloads))
		ps, pk := make([]*Packet, n), make([]Packet, n) // two allocations per chunk, not one per packet
		for i, p := range payloads[:n] {
			pk[i] = Packet{From: c.addr, To: to, Payload: p, Sent: now}
			ps[i] = &pk[i]
		}
		if err := d.send(ps, c.done); err != nil {
			if errors.Is(err, errStopped) {
				return c.opError("write", net.ErrClosed)
			}
			return c.opError("write", err)
		}
		payloads = payloads[n:]
	}
	return nil
}

func (c *PacketConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "sim", Addr: c.addr, Err: err}
}

// Route sends the payloads of datagrams from peer straight to queue instead
// of the socket's own queue, as a kernel hands a connected flow to its own
// socket: each item is the payloads one link hand-off carried, in order (a
// batch that finds queue full is dropped as "rcvbuf"). A nil queue ends the
// route. A stream listener uses it so that its connections skip its
// demultiplexer. Datagrams already queued on the socket stay there.
func (c *PacketConn) Route(peer Addr, queue chan [][]byte) {
	c.host.mu.Lock()
	defer c.host.mu.Unlock()
	if queue == nil {
		delete(c.routes, peer)
		return
	}
	if c.routes == nil {
		c.routes = make(map[Addr]chan [][]byte)
	}
	c.routes[peer] = queue
}

// Close unbinds the socket; blocked reads return net.ErrClosed.
func (c *PacketConn) Close() error {
	err := c.opError("close", net.ErrClosed)
	c.closeOnce.Do(func() {
		err = nil
		c.host.mu.Lock()
		delete(c.host.sockets, c.addr.Port)
		c.host.mu.Unlock()
		close(c.done)
		c.readDeadline.Stop()
		c.writeDeadline.Stop()
	})
	return err
}

// LocalAddr returns the bound address (a sim.Addr).
func (c *PacketConn) LocalAddr() net.Addr { return c.addr }

// Addr returns the bound address.
func (c *PacketConn) Addr() Addr { return c.addr }

// SetDeadline sets the read and write deadlines.
func (c *PacketConn) SetDeadline(t time.Time) error {
	c.readDeadline.Set(t)
	c.writeDeadline.Set(t)
	return nil
}

// SetReadDeadline sets the read deadline.
func (c *PacketConn) SetReadDeadline(t time.Time) error { c.readDeadline.Set(t); return nil }

// SetWriteDeadline sets the write deadline.
func (c *PacketConn) SetWriteDeadline(t time.Time) error { c.writeDeadline.Set(t); return nil }
