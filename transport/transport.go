package transport

import (
	"context"
	"net"
)

// Network is what a protocol needs from a network: dial a stream, listen for
// streams, and open a datagram socket. The shapes are the net package's, so
// net.Dialer, net.ListenConfig and http.Transport fit without adapters.
type Network interface {
	// DialContext connects to addr on the named network ("tcp", "tcp4",
	// "tcp6", or what the implementation documents).
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	// Listen announces a stream listener on addr.
	Listen(ctx context.Context, network, addr string) (net.Listener, error)
	// ListenPacket opens a datagram socket bound to addr ("udp", "udp4", "udp6").
	ListenPacket(ctx context.Context, network, addr string) (net.PacketConn, error)
}

// System is the Network of the operating system's real sockets. Its zero
// value is ready to use. It returns the raw *net.TCPConn, *net.TCPListener and
// *net.UDPConn, so every kernel fast path (sendfile, splice) stays available.
type System struct {
	// Dialer configures outgoing connections (timeouts, keep-alive).
	Dialer net.Dialer
	// ListenConfig configures listeners and datagram sockets.
	ListenConfig net.ListenConfig
}

var _ Network = (*System)(nil)

// DialContext dials addr with the system's TCP/IP stack.
func (s *System) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := s.Dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err // a *net.OpError: it already says "dial tcp ADDR: …"
	}
	return c, nil
}

// Listen opens a real stream listener.
func (s *System) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	ln, err := s.ListenConfig.Listen(ctx, network, addr)
	if err != nil {
		return nil, err // a *net.OpError: it already says "listen tcp ADDR: …"
	}
	return ln, nil
}

// ListenPacket opens a real datagram socket.
func (s *System) ListenPacket(ctx context.Context, network, addr string) (net.PacketConn, error) {
	pc, err := s.ListenConfig.ListenPacket(ctx, network, addr)
	if err != nil {
		return nil, err // a *net.OpError: it already says "listen udp ADDR: …"
	}
	return pc, nil
}

// CloseReader is implemented by connections whose read side can be shut
// down on its own (*net.TCPConn, mem conns). Servers use it for graceful
// shutdown: the reader sees EOF, in-flight replies still go out.
type CloseReader interface {
	CloseRead() error
}

// CloseWriter is implemented by connections that can half-close: the peer
// reads EOF while this side can still read.
type CloseWriter interface {
	CloseWrite() error
}
