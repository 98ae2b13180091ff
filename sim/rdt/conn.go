package rdt

import (
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"netstages/actors"
	"netstages/sim"
	"netstages/transport/deadline"
)

// Conn is one end of a reliable stream over sim datagrams. It implements
// net.Conn, CloseWrite and CloseRead. All methods are safe for concurrent
// use; Read and Write block only on channels and timers.
type Conn struct {
	cfg           Config
	local, remote sim.Addr
	start         time.Time
	send          func(to sim.Addr, bs [][]byte) error
	release       func() // frees the socket or the listener slot when the conn ends

	// inbound carries raw datagrams from the peer (server side, fed by the
	// listener's demux); nil on the client side, which reads its own socket.
	inbound chan [][]byte
	sock    *sim.PacketConn // client side only
	net     *sim.Network    // the network the conn runs on
	netDone <-chan struct{} // closed when the sim network closes

	mu sync.Mutex
	// application → sender
	sbuf    sendQueue
	wclosed bool // CloseWrite or Close: FIN follows the bytes written
	closed  bool // Close: local reads and writes fail
	rclosed bool // CloseRead: reads give EOF, arriving bytes are dropped
	// receiver → application
	rbuf       byteQueue
	rcvUsed    int    // bytes accepted and not yet read: the window shrinks by them
	rcvNext    uint32 // next in-order sequence number expected
	peerFin    bool   // the peer's FIN arrived in order
	eof        bool   // the application may read EOF after rbuf
	ackPending bool   // the receiver owes the peer an acknowledgement
	sacks      []uint32
	synack     bool   // owe the peer a SYNACK (server side)
	rst        bool   // owe the peer an RST
	lastAdv    int    // window last advertised
	tsRecent   uint32 // TSval of the last data packet received: echoed as TSecr
	err        error
	stats      Stats

	kick       chan struct{}
	acks       chan Segment
	dataReady  chan struct{}
	spaceReady chan struct{}
	closing    chan struct{} // closed by Close
	done       chan struct{} // closed when the connection has ended
	rd, wd     *deadline.Deadline
	timer      *time.Timer // the sender's one timer (retransmission, linger)

	sendPipe, recvPipe *actors.Pipeline
}

var _ net.Conn = (*Conn)(nil)

func newConn(cfg Config, local, remote sim.Addr, send func(sim.Addr, [][]byte) error) *Conn {
	t := time.NewTimer(time.Hour)
	t.Stop()
	c := &Conn{cfg: cfg, local: local, remote: remote, start: time.Now(), send: send,
		kick: make(chan struct{}, 1), acks: make(chan Segment, 256),
		dataReady: make(chan struct{}, 1), spaceReady: make(chan struct{}, 1),
		closing: make(chan struct{}), done: make(chan struct{}),
		rd: deadline.New(), wd: deadline.New(), timer: t, lastAdv: cfg.RcvBuf}
	c.stats = Stats{ARQ: cfg.ARQ, Local: local.String(), Remote: remote.String()}
	return c
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// run wires the sender and receiver pipelines and supervises them: when the
// sender decides the connection is over, the receiver is stopped, the
// socket released and done closed.
func (c *Conn) run(peerWindow int, rtt time.Duration) {
	snd := newSender(c, peerWindow, rtt)
	c.sendPipe = snd.wire()
	c.recvPipe = newReceiver(c).wire()
	go func() {
		recvDone := make(chan struct{})
		go func() {
			defer close(recvDone)
			if err := c.recvPipe.Run(backgroundCtx()); err != nil {
				c.fail(err)
			}
		}()
		if err := c.sendPipe.Run(backgroundCtx()); err != nil {
			c.fail(err)
		}
		c.recvPipe.Stop()
		<-recvDone
		c.timer.Stop()
		c.rd.Stop()
		c.wd.Stop()
		c.release()
		c.mu.Lock()
		c.stats.Duration = time.Since(c.start)
		if c.err != nil && c.err != errOver {
			c.stats.Err = c.err.Error()
		}
		st := c.statsLocked()
		c.mu.Unlock()
		close(c.done)
		if c.cfg.OnDone != nil {
			c.cfg.OnDone(st)
		}
	}()
}

// fail records the first error that ends the connection.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	signal(c.kick)
	signal(c.dataReady)
	signal(c.spaceReady)
}

func (c *Conn) opError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: "rdt", Source: c.local, Addr: c.remote, Err: err}
}

// Read reads bytes the peer sent, in order, each exactly once.
func (c *Conn) Read(b []byte) (int, error) {
	for {
		c.mu.Lock()
		switch {
		case c.closed:
			c.mu.Unlock()
			return 0, c.opError("read", net.ErrClosed)
		case c.rclosed:
			c.mu.Unlock()
			return 0, io.EOF
		case deadline.Closed(c.rd.Wait()):
			c.mu.Unlock()
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		case len(b) == 0:
			c.mu.Unlock()
			return 0, nil
		case c.rbuf.n > 0:
			n := c.rbuf.read(b)
			if c.rbuf.n > 0 {
				signal(c.dataReady)
			}
			c.rcvUsed -= n
			c.stats.BytesRecvd += uint64(n)
			update := c.windowOpenedLocked()
			c.mu.Unlock()
			if update {
				signal(c.kick)
			}
			return n, nil
		case c.eof:
			c.mu.Unlock()
			return 0, io.EOF
		case c.err != nil:
			err := c.err
			c.mu.Unlock()
			return 0, c.opError("read", err)
		case deadline.Closed(c.done):
			c.mu.Unlock()
			return 0, io.EOF
		}
		c.mu.Unlock()
		select {
		case <-c.dataReady:
		case <-c.closing:
		case <-c.done:
		case <-c.rd.Wait():
		}
	}
}

// windowOpenedLocked says whether a read opened the window enough to tell
// the peer (by an MSS, or to half the buffer from below one MSS).
func (c *Conn) windowOpenedLocked() bool {
	free := c.cfg.RcvBuf - c.rcvUsed
	if free-c.lastAdv >= c.cfg.MSS || (c.lastAdv < c.cfg.MSS && free >= c.cfg.RcvBuf/2) {
		c.ackPending = true
		return true
	}
	return false
}

// Write queues b for sending, blocking while the send buffer is full.
func (c *Conn) Write(b []byte) (int, error) {
	written := 0
	for written < len(b) {
		c.mu.Lock()
		switch {
		case c.closed:
			c.mu.Unlock()
			return written, c.opError("write", net.ErrClosed)
		case c.err != nil:
			err := c.err
			c.mu.Unlock()
			return written, c.opError("write", err)
		case c.wclosed || deadline.Closed(c.done):
			c.mu.Unlock()
			return written, c.opError("write", syscall.EPIPE)
		case deadline.Closed(c.wd.Wait()):
			c.mu.Unlock()
			return written, c.opError("write", os.ErrDeadlineExceeded)
		}
		if space := c.cfg.SndBuf - c.sbuf.n; space > 0 {
			n := min(space, len(b)-written)
			c.sbuf.push(b[written : written+n])
			written += n
			c.mu.Unlock()
			signal(c.kick)
			continue
		}
		c.mu.Unlock()
		select {
		case <-c.spaceReady:
		case <-c.closing:
		case <-c.done:
		case <-c.wd.Wait():
		}
	}
	return written, nil
}

// CloseWrite sends FIN after the bytes written: the peer reads EOF, and
// this end can still read.
func (c *Conn) CloseWrite() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	c.wclosed = true
	c.mu.Unlock()
	signal(c.kick)
	return nil
}

// CloseRead makes local reads return EOF and drops bytes that arrive from
// now on, as shutdown(SHUT_RD) does.
func (c *Conn) CloseRead() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.opError("close", net.ErrClosed)
	}
	c.rclosed = true
	c.rcvUsed -= c.rbuf.n
	c.rbuf = byteQueue{}
	return nil
}

// Close ends the connection: local reads and writes fail at once; bytes
// already written are still delivered, then FIN. The connection lingers in
// the background until the peer has acknowledged everything (or gives up
// after MaxRetries timeouts); Done tells when.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	c.closed, c.wclosed = true, true
	c.rcvUsed -= c.rbuf.n
	c.rbuf = byteQueue{}
	c.mu.Unlock()
	close(c.closing)
	c.rd.Stop()
	c.wd.Stop()
	signal(c.kick)
	return nil
}

// Done is closed when the connection has ended and released its socket.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Stats returns the connection's counters now.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.statsLocked()
	if !deadline.Closed(c.done) {
		st.Duration = time.Since(c.start)
	}
	return st
}

func (c *Conn) statsLocked() Stats {
	st := c.stats
	st.RTOHistory = slices.Clone(c.stats.RTOHistory)
	return st
}

// SendGraph returns the graph of the sender pipeline.
func (c *Conn) SendGraph() actors.Graph { return c.sendPipe.Graph() }

// RecvGraph returns the graph of the receiver pipeline.
func (c *Conn) RecvGraph() actors.Graph { return c.recvPipe.Graph() }

// LocalAddr returns this end's address (a sim.Addr).
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer's address (a sim.Addr).
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if deadline.Closed(c.closing) {
		return c.opError("set", net.ErrClosed)
	}
	c.rd.Set(t)
	return nil
}

// SetWriteDeadline sets the write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if deadline.Closed(c.closing) {
		return c.opError("set", net.ErrClosed)
	}
	c.wd.Set(t)
	return nil
}

// byteQueue holds the in-order bytes waiting for Read as the payloads they
// arrived in, without copying them into one buffer: each byte is copied
// once, into Read's buffer. It is a FIFO over two parallel slices read from
// head; their arrays are reused once the queue empties (or compacted when
// most of them is read), so a steady stream allocates nothing.
type byteQueue struct {
	bufs [][]byte
	head int // bufs[head:] are queued
	n    int // bytes queued

	// With recycle set, owners[i] is the datagram bufs[i] aliases (or nil),
	// handed to recycle once bufs[i] has been read to its end.
	owners  [][]byte
	recycle func([]byte)
}

// pushOwned queues b, which aliases owner, a datagram buffer the queue
// recycles once b has been read.
func (q *byteQueue) pushOwned(b, owner []byte) {
	if len(b) == 0 {
		return
	}
	if q.head > 0 && q.head >= len(q.bufs)/2 { // mostly read: slide the rest down
		k := copy(q.bufs, q.bufs[q.head:])
		copy(q.owners, q.owners[q.head:])
		clear(q.bufs[k:])
		clear(q.owners[k:])
		q.bufs, q.owners, q.head = q.bufs[:k], q.owners[:k], 0
	}
	q.bufs = append(q.bufs, b)
	q.owners = append(q.owners, owner)
	q.n += len(b)
}

// read moves up to len(p) queued bytes into p and returns how many.
func (q *byteQueue) read(p []byte) int {
	n := 0
	for n < len(p) && q.head < len(q.bufs) {
		k := copy(p[n:], q.bufs[q.head])
		n += k
		if k < len(q.bufs[q.head]) {
			q.bufs[q.head] = q.bufs[q.head][k:]
			continue
		}
		if owner := q.owners[q.head]; owner != nil && q.recycle != nil {
			q.recycle(owner)
		}
		q.bufs[q.head], q.owners[q.head] = nil, nil
		q.head++
	}
	q.n -= n
	if q.head == len(q.bufs) { // empty: reuse the arrays from the start
		q.bufs, q.owners, q.head = q.bufs[:0], q.owners[:0], 0
	}
	return n
}

// chunk is a buffer of the send queue: Write copies into one, segments
// alias it until they are acknowledged, then it is reused.
type chunk struct {
	buf      []byte
	refs     int  // segments still aliasing buf
	consumed bool // every byte of buf has been taken
}

// sendQueue is the send buffer: chunks of written bytes that segments are
// cut from. A chunk that has been taken entirely and is no longer aliased
// by any segment goes to a short free list for the next Write. Its methods
// are called with the conn's mu held.
type sendQueue struct {
	chunks []*chunk
	head   []byte // the untaken rest of chunks[0].buf
	n      int    // bytes queued
	free   []*chunk
}

// maxFreeChunks bounds the chunks a send queue keeps for reuse.
const maxFreeChunks = 32

// push copies b into a chunk, reusing a free one when it is big enough.
func (q *sendQueue) push(b []byte) {
	if len(b) == 0 {
		return
	}
	var ch *chunk
	for i, f := range q.free { // any free chunk big enough; small ones stay for small writes
		if cap(f.buf) >= len(b) {
			ch = f
			last := len(q.free) - 1
			q.free[i], q.free[last] = q.free[last], nil
			q.free = q.free[:last]
			break
		}
	}
	if ch == nil {
		ch = &chunk{buf: make([]byte, 0, len(b))}
	}
	ch.buf, ch.refs, ch.consumed = append(ch.buf[:0], b...), 0, false
	if len(q.chunks) == 0 {
		q.head = ch.buf
	}
	q.chunks = append(q.chunks, ch)
	q.n += len(b)
}

// take removes the next size bytes (0 < size <= q.n). When they lie in one
// chunk it returns a slice of it and the chunk, whose reference the caller
// must drop with release once done; else it returns a copy and nil.
func (q *sendQueue) take(size int) ([]byte, *chunk) {
	if len(q.head) < size {
		p := make([]byte, size)
		for k := 0; k < size; {
			c := copy(p[k:], q.head)
			k += c
			q.head = q.head[c:]
			q.n -= c
			if len(q.head) == 0 {
				q.pop()
			}
		}
		return p, nil
	}
	ch := q.chunks[0]
	p := q.head[:size:size]
	ch.refs++
	q.head = q.head[size:]
	q.n -= size
	if len(q.head) == 0 {
		q.pop()
	}
	return p, ch
}

// pop drops the head chunk, taken entirely.
func (q *sendQueue) pop() {
	ch := q.chunks[0]
	q.chunks[0] = nil
	q.chunks = q.chunks[1:]
	ch.consumed = true
	q.recycle(ch)
	q.head = nil
	if len(q.chunks) > 0 {
		q.head = q.chunks[0].buf
	} else {
		q.chunks = nil
	}
}

// release drops a segment's reference to ch.
func (q *sendQueue) release(ch *chunk) {
	ch.refs--
	q.recycle(ch)
}

// recycle puts a chunk that is taken and no longer aliased on the free
// list; when the list is full it replaces the smallest chunk there if it is
// bigger, so big writes keep finding room.
func (q *sendQueue) recycle(ch *chunk) {
	if !ch.consumed || ch.refs != 0 {
		return
	}
	ch.consumed = false // not twice
	if len(q.free) < maxFreeChunks {
		q.free = append(q.free, ch)
		return
	}
	small := 0
	for i, f := range q.free {
		if cap(f.buf) < cap(q.free[small].buf) {
			small = i
		}
	}
	if cap(ch.buf) > cap(q.free[small].buf) {
		q.free[small] = ch
	}
}
