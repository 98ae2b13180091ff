package mem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
)

// Network is an in-process network. Its zero value is not usable; call
// [NewNetwork]. Each Network is its own address space: a listener on one is
// not reachable from another.
type Network struct {
	mu        sync.Mutex
	listeners map[string]*Listener
	packets   map[string]*PacketConn
	nextPort  int
	// BufferSize is the per-direction buffer of new stream connections.
	bufferSize int
}

// NewNetwork returns an empty in-process network whose stream connections
// buffer bufSize bytes each way (64 KiB if bufSize <= 0).
func NewNetwork(bufSize int) *Network {
	return &Network{
		listeners:  make(map[string]*Listener),
		packets:    make(map[string]*PacketConn),
		nextPort:   49152,
		bufferSize: bufSize,
	}
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// ErrConnRefused is returned by DialContext when nobody listens at the address.
var ErrConnRefused = syscall.ECONNREFUSED

func checkStream(network string) error {
	switch network {
	case "tcp", "tcp4", "tcp6", "mem":
		return nil
	}
	return fmt.Errorf("mem: unsupported stream network %q", network)
}

func checkPacket(network string) error {
	switch network {
	case "udp", "udp4", "udp6", "memgram":
		return nil
	}
	return fmt.Errorf("mem: unsupported datagram network %q", network)
}

// bind resolves port 0 to a free port; it must be called with n.mu held.
func (n *Network) bind(addr string, taken func(string) bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("mem: bad address %q: %w", addr, err)
	}
	if port != "0" && port != "" {
		if taken(addr) {
			return "", fmt.Errorf("mem: %s: %w", addr, syscall.EADDRINUSE)
		}
		return addr, nil
	}
	for range 16384 {
		n.nextPort++
		if n.nextPort > 65535 {
			n.nextPort = 49152
		}
		a := net.JoinHostPort(host, strconv.Itoa(n.nextPort))
		if !taken(a) {
			return a, nil
		}
	}
	return "", fmt.Errorf("mem: no free port on %s", host)
}

// Listen announces a stream listener at addr ("host:port", port 0 for any).
func (n *Network) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	if err := checkStream(network); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	a, err := n.bind(addr, func(a string) bool { return n.listeners[a] != nil })
	if err != nil {
		return nil, err
	}
	ln := &Listener{net: n, addr: Addr{Net: "mem", HostPort: a}, backlog: make(chan *Conn, 128), done: make(chan struct{})}
	n.listeners[a] = ln
	return ln, nil
}

// DialContext connects to the listener at addr. It fails with
// ECONNREFUSED when nobody listens there or the backlog is full.
func (n *Network) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := checkStream(network); err != nil {
		return nil, err
	}
	n.mu.Lock()
	ln := n.listeners[addr]
	var local string
	if ln != nil {
		local, _ = n.bind("client:0", func(string) bool { return false })
	}
	n.mu.Unlock()
	if ln == nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: Addr{"mem", addr}, Err: ErrConnRefused}
	}
	client, server := Pipe(Addr{"mem", local}, ln.addr, n.bufferSize)
	select {
	case ln.backlog <- server:
		return client, nil
	case <-ln.done:
	case <-ctx.Done():
		return nil, &net.OpError{Op: "dial", Net: network, Addr: ln.addr, Err: ctx.Err()}
	default:
	}
	return nil, &net.OpError{Op: "dial", Net: network, Addr: ln.addr, Err: ErrConnRefused}
}

// Listener accepts mem stream connections.
type Listener struct {
	net       *Network
	addr      Addr
	backlog   chan *Conn
	done      chan struct{}
	closeOnce sync.Once
}

// Accept waits for the next connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.backlog:
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: "mem", Addr: l.addr, Err: net.ErrClosed}
	}
}

// Close stops the listener; connections waiting in the backlog are closed.
func (l *Listener) Close() error {
	err := error(&net.OpError{Op: "close", Net: "mem", Addr: l.addr, Err: net.ErrClosed})
	l.closeOnce.Do(func() {
		err = nil
		l.net.mu.Lock()
		delete(l.net.listeners, l.addr.HostPort)
		l.net.mu.Unlock()
		close(l.done)
		for {
			select {
			case c := <-l.backlog:
				c.Close()
			default:
				return
			}
		}
	})
	return err
}

// Addr returns the listener's address.
func (l *Listener) Addr() net.Addr { return l.addr }
