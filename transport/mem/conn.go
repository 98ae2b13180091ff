package mem

import (
	"net"
	"sync"
	"time"

	"netstages/transport/deadline"
)

// Addr is the address of a mem endpoint.
type Addr struct {
	// Net is "mem" for streams and "memgram" for datagrams.
	Net string
	// HostPort is the "host:port" the endpoint is bound to.
	HostPort string
}

// Network returns the address's network name.
func (a Addr) Network() string { return a.Net }

// String returns the "host:port" form.
func (a Addr) String() string { return a.HostPort }

// Conn is one end of an in-process stream connection.
type Conn struct {
	in, out       *pipe
	local, remote Addr
	readDeadline  *deadline.Deadline
	writeDeadline *deadline.Deadline
	closeOnce     sync.Once
	done          chan struct{}
}

var _ net.Conn = (*Conn)(nil)

// Pipe returns the two ends of a stream connection with a buffer of bufSize
// bytes in each direction (64 KiB if bufSize <= 0).
func Pipe(a, b Addr, bufSize int) (*Conn, *Conn) {
	if bufSize <= 0 {
		bufSize = 64 << 10
	}
	ab, ba := newPipe(bufSize), newPipe(bufSize)
	ca := &Conn{in: ba, out: ab, local: a, remote: b, readDeadline: deadline.New(), writeDeadline: deadline.New(), done: make(chan struct{})}
	cb := &Conn{in: ab, out: ba, local: b, remote: a, readDeadline: deadline.New(), writeDeadline: deadline.New(), done: make(chan struct{})}
	return ca, cb
}

// Read reads buffered bytes sent by the peer.
func (c *Conn) Read(b []byte) (int, error) {
	n, err := c.in.read(b, c.done, c.readDeadline)
	return n, c.opError("read", err)
}

// Write sends bytes to the peer, blocking while its buffer is full.
func (c *Conn) Write(b []byte) (int, error) {
	n, err := c.out.write(b, c.done, c.writeDeadline)
	return n, c.opError("write", err)
}

func (c *Conn) opError(op string, err error) error {
	if err == nil || isEOF(err) {
		return err
	}
	return &net.OpError{Op: op, Net: c.local.Net, Source: c.local, Addr: c.remote, Err: err}
}

// Close closes both directions: local reads and writes fail with
// net.ErrClosed, the peer reads EOF after what was already sent, and the
// peer's writes fail.
func (c *Conn) Close() error {
	closed := false
	c.closeOnce.Do(func() {
		closed = true
		close(c.done)
		c.out.update(func(p *pipe) { p.writeClosed = true })
		c.in.update(func(p *pipe) { p.readerGone = true; p.buf = nil })
	})
	if !closed {
		return c.opError("close", net.ErrClosed)
	}
	return nil
}

// CloseWrite half-closes the connection: the peer reads EOF after the bytes
// already written, and this end can still read.
func (c *Conn) CloseWrite() error {
	if isClosed(c.done) {
		return c.opError("close", net.ErrClosed)
	}
	c.out.update(func(p *pipe) { p.writeClosed = true })
	return nil
}

// CloseRead shuts the read side: local reads return EOF, and whatever the
// peer writes from now on is discarded, as with TCP's shutdown(SHUT_RD).
func (c *Conn) CloseRead() error {
	if isClosed(c.done) {
		return c.opError("close", net.ErrClosed)
	}
	c.in.update(func(p *pipe) { p.readClosed = true; p.buf = nil })
	return nil
}

// LocalAddr returns this end's address.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if isClosed(c.done) {
		return c.opError("set", net.ErrClosed)
	}
	c.readDeadline.Set(t)
	c.writeDeadline.Set(t)
	return nil
}

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if isClosed(c.done) {
		return c.opError("set", net.ErrClosed)
	}
	c.readDeadline.Set(t)
	return nil
}

// SetWriteDeadline sets the write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if isClosed(c.done) {
		return c.opError("set", net.ErrClosed)
	}
	c.writeDeadline.Set(t)
	return nil
}
