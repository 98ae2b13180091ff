package mem

import (
	"context"
	"net"
	"os"
	"sync"
	"time"

	"netstages/transport/deadline"
)

// datagram is one packet in flight.
type datagram struct {
	from    Addr
	payload []byte
}

// PacketConn is an in-process datagram socket.
type PacketConn struct {
	net           *Network
	addr          Addr
	queue         chan datagram
	done          chan struct{}
	closeOnce     sync.Once
	readDeadline  *deadline.Deadline
	writeDeadline *deadline.Deadline
}

var _ net.PacketConn = (*PacketConn)(nil)

// ListenPacket opens a datagram socket at addr ("host:port", port 0 for any).
func (n *Network) ListenPacket(ctx context.Context, network, addr string) (net.PacketConn, error) {
	if err := checkPacket(network); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	a, err := n.bind(addr, func(a string) bool { return n.packets[a] != nil })
	if err != nil {
		return nil, err
	}
	pc := &PacketConn{
		net: n, addr: Addr{Net: "memgram", HostPort: a},
		queue: make(chan datagram, 256), done: make(chan struct{}),
		readDeadline: deadline.New(), writeDeadline: deadline.New(),
	}
	n.packets[a] = pc
	return pc, nil
}

// ReadFrom waits for the next datagram and copies it into b; a datagram
// longer than b is truncated, as with UDP.
func (c *PacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if isClosed(c.readDeadline.Wait()) {
		return 0, nil, c.opError("read", os.ErrDeadlineExceeded)
	}
	select {
	case d := <-c.queue:
		return copy(b, d.payload), d.from, nil
	case <-c.done:
		return 0, nil, c.opError("read", net.ErrClosed)
	case <-c.readDeadline.Wait():
		return 0, nil, c.opError("read", os.ErrDeadlineExceeded)
	}
}

// WriteTo sends b to addr. The datagram is dropped silently when nobody is
// bound there or the receiver's queue is full.
func (c *PacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if isClosed(c.done) {
		return 0, c.opError("write", net.ErrClosed)
	}
	if isClosed(c.writeDeadline.Wait()) {
		return 0, c.opError("write", os.ErrDeadlineExceeded)
	}
	c.net.mu.Lock()
	dst := c.net.packets[addr.String()]
	c.net.mu.Unlock()
	if dst == nil {
		return len(b), nil
	}
	d := datagram{from: c.addr, payload: append([]byte(nil), b...)}
	select {
	case dst.queue <- d:
	default: // receiver's queue full: dropped, as UDP would
	}
	return len(b), nil
}

func (c *PacketConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.addr.Net, Addr: c.addr, Err: err}
}

// Close unbinds the socket; blocked reads return net.ErrClosed.
func (c *PacketConn) Close() error {
	err := c.opError("close", net.ErrClosed)
	c.closeOnce.Do(func() {
		err = nil
		c.net.mu.Lock()
		delete(c.net.packets, c.addr.HostPort)
		c.net.mu.Unlock()
		close(c.done)
	})
	return err
}

// LocalAddr returns the bound address.
func (c *PacketConn) LocalAddr() net.Addr { return c.addr }

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
