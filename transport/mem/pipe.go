package mem

import (
	"io"
	"net"
	"os"
	"sync"

	"netstages/transport/deadline"
)

func isClosed(c <-chan struct{}) bool { return deadline.Closed(c) }

// pipe is one direction of a stream: a bounded byte buffer with a writer end
// and a reader end. The mutex guards the fields and is never held while
// blocking; waiting happens on the signal channels.
type pipe struct {
	mu          sync.Mutex
	buf         []byte
	limit       int
	writeClosed bool // no more data will come: reader gets EOF after the buffer
	readClosed  bool // reader gave up: writes are discarded (CloseRead) or fail (Close)
	readerGone  bool // reader end closed by Close: writes fail
	dataReady   chan struct{}
	spaceReady  chan struct{}
}

func newPipe(limit int) *pipe {
	return &pipe{limit: limit, dataReady: make(chan struct{}, 1), spaceReady: make(chan struct{}, 1)}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// read copies buffered bytes into b, blocking until there are some, the
// writer closes, the local end closes (done) or the deadline passes.
func (p *pipe) read(b []byte, done <-chan struct{}, dl *deadline.Deadline) (int, error) {
	for {
		p.mu.Lock()
		switch {
		case p.readerGone:
			p.mu.Unlock()
			return 0, net.ErrClosed
		case p.readClosed:
			p.mu.Unlock()
			return 0, io.EOF
		case isClosed(dl.Wait()):
			p.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		case len(p.buf) > 0:
			if len(b) == 0 {
				p.mu.Unlock()
				return 0, nil
			}
			n := copy(b, p.buf)
			p.buf = p.buf[n:]
			if len(p.buf) == 0 {
				p.buf = p.buf[:0:0] // let the backing array go while idle
			}
			if len(p.buf) > 0 {
				signal(p.dataReady)
			}
			p.mu.Unlock()
			signal(p.spaceReady)
			return n, nil
		case p.writeClosed:
			p.mu.Unlock()
			return 0, io.EOF
		}
		p.mu.Unlock()
		select {
		case <-p.dataReady:
		case <-done:
		case <-dl.Wait():
		}
	}
}

// write appends b to the buffer, blocking while it is full.
func (p *pipe) write(b []byte, done <-chan struct{}, dl *deadline.Deadline) (int, error) {
	written := 0
	for {
		p.mu.Lock()
		switch {
		case p.writeClosed:
			p.mu.Unlock()
			return written, net.ErrClosed
		case p.readerGone:
			p.mu.Unlock()
			return written, io.ErrClosedPipe
		case p.readClosed:
			p.mu.Unlock()
			return len(b), nil // like TCP after shutdown(SHUT_RD): accepted, then dropped
		}
		if isClosed(dl.Wait()) {
			p.mu.Unlock()
			return written, os.ErrDeadlineExceeded
		}
		if room := p.limit - len(p.buf); room > 0 {
			n := min(room, len(b)-written)
			p.buf = append(p.buf, b[written:written+n]...)
			written += n
			if len(p.buf) < p.limit {
				signal(p.spaceReady)
			}
		}
		p.mu.Unlock()
		if written > 0 {
			signal(p.dataReady)
		}
		if written == len(b) {
			return written, nil
		}
		select {
		case <-p.spaceReady:
		case <-done:
		case <-dl.Wait():
		}
	}
}

func (p *pipe) update(f func(p *pipe)) {
	p.mu.Lock()
	f(p)
	p.mu.Unlock()
	signal(p.dataReady)
	signal(p.spaceReady)
}
