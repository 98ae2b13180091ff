package mem

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// deadline is a settable point in time that closes a channel when it passes.
// It is the same idea as net.Pipe's pipeDeadline.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{} // closed when the deadline passes
}

func newDeadline() *deadline {
	return &deadline{cancel: make(chan struct{})}
}

// set arms the deadline; the zero time disarms it.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer fired and closed cancel: wait for it
	}
	d.timer = nil
	closed := isClosed(d.cancel)
	if t.IsZero() {
		if closed {
			d.cancel = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if closed {
			d.cancel = make(chan struct{})
		}
		cancel := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(cancel) })
		return
	}
	if !closed {
		close(d.cancel)
	}
}

// wait returns a channel that is closed when the deadline passes.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

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
func (p *pipe) read(b []byte, done <-chan struct{}, dl *deadline) (int, error) {
	for {
		p.mu.Lock()
		switch {
		case p.readerGone:
			p.mu.Unlock()
			return 0, net.ErrClosed
		case p.readClosed:
			p.mu.Unlock()
			return 0, io.EOF
		case isClosed(dl.wait()):
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
		case <-dl.wait():
		}
	}
}

// write appends b to the buffer, blocking while it is full.
func (p *pipe) write(b []byte, done <-chan struct{}, dl *deadline) (int, error) {
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
		if isClosed(dl.wait()) {
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
		case <-dl.wait():
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
