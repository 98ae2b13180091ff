package httpd

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"netstages/actors"
	"netstages/actors/connio"
	"netstages/protocols/http"
	"netstages/transport"
)

// deadlines keeps a connection's read deadline: IdleTimeout while it waits
// between requests, ReadHeaderTimeout from the first byte of a request to its
// end. The framer knows where requests start and end; the writer refreshes
// the idle deadline after each flush, so time spent sending a large file does
// not count as idleness. It also remembers that the writer asked for a
// lingering close. Safe for concurrent use by the stages of one connection.
type deadlines struct {
	conn         net.Conn
	header, idle time.Duration
	write        time.Duration // 0: none
	partial      atomic.Bool
	lingering    atomic.Bool
}

func newDeadlines(conn net.Conn, header, idle, write time.Duration) *deadlines {
	return &deadlines{conn: conn, header: header, idle: idle, write: write}
}

// writing gives the next write WriteTimeout to make progress: a client
// that stops reading cannot hold the connection (and a file) forever.
func (d *deadlines) writing() {
	if d.write > 0 {
		d.conn.SetWriteDeadline(time.Now().Add(d.write))
	}
}

// requestStarted: the first bytes of a request arrived.
func (d *deadlines) requestStarted() {
	d.partial.Store(true)
	d.conn.SetReadDeadline(time.Now().Add(d.header))
}

// betweenRequests: nothing of a next request has arrived.
func (d *deadlines) betweenRequests() {
	d.partial.Store(false)
	d.conn.SetReadDeadline(time.Now().Add(d.idle))
}

// responded: the writer flushed; restart the idle wait unless a request is
// coming in.
func (d *deadlines) responded() {
	if !d.partial.Load() {
		d.conn.SetReadDeadline(time.Now().Add(d.idle))
	}
}

// ReaderStage is connio.ReadChunks with deadlines: it arms the idle deadline
// first, and when a read deadline passes it sends a zero Chunk (Data nil) and
// ends cleanly, so the framer can answer 408 to a half-sent request.
func ReaderStage(conn net.Conn, pool *connio.Pool, clock *deadlines) actors.SourceFunc[connio.Chunk] {
	read := connio.ReadChunks(conn, pool)
	return func(ctx context.Context, out *actors.Output[connio.Chunk]) error {
		clock.betweenRequests()
		err := read(ctx, out)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			if !clock.lingering.Load() {
				out.Send(connio.Chunk{})
			}
			return nil
		}
		return err
	}
}

// lingerTime and lingerBytes bound the lingering close: after a response
// that closes the connection, unread request bytes are drained for at most
// this long and this much, so that closing does not reset the connection
// and destroy the response before the client reads it.
const (
	lingerTime  = time.Second
	lingerBytes = 256 << 10
)

// interrupt is the pipeline's interrupt: close the connection, except after
// the writer's last response, when only the reader is woken (its deadline
// set to now) so the connection can be drained before it closes.
func (d *deadlines) interrupt() {
	if d.lingering.Load() {
		d.conn.SetReadDeadline(time.Now())
		return
	}
	d.conn.Close()
}

// linger half-closes the write side (the response is complete, the FIN
// follows it) and drains what the client still sends, within bounds.
func (d *deadlines) linger(ctx context.Context) {
	if !d.lingering.Load() {
		return
	}
	stop := context.AfterFunc(ctx, func() { d.conn.Close() })
	defer stop()
	d.conn.SetReadDeadline(time.Now().Add(lingerTime))
	io.Copy(io.Discard, io.LimitReader(d.conn, lingerBytes))
}

// closeWrite ends the write side after the last response.
func (d *deadlines) closeWrite() {
	d.lingering.Store(true)
	if cw, ok := d.conn.(transport.CloseWriter); ok {
		cw.CloseWrite()
	}
}

// openFiles tracks the files opened for responses that are not yet written,
// so that none leaks when a connection ends early. Safe for concurrent use.
type openFiles struct {
	mu    sync.Mutex
	files map[fileRef]struct{}
	done  bool
}

type fileRef = *fileBody

func (o *openFiles) add(f fileRef) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return false
	}
	if o.files == nil {
		o.files = make(map[fileRef]struct{})
	}
	o.files[f] = struct{}{}
	return true
}

func (o *openFiles) release(f fileRef) {
	o.mu.Lock()
	delete(o.files, f)
	o.mu.Unlock()
	f.file.Close()
}

func (o *openFiles) closeAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done = true
	for f := range o.files {
		f.file.Close()
	}
	o.files = nil
}

// FramerStage cuts chunks into request frames (http.RequestFramer), keeps
// the connection's read deadline, and turns a deadline that passes mid-request
// into a 408 frame. Bodies are read and dropped.
func FramerStage(lim http.Limits, clock *deadlines) (actors.StepFunc[connio.Chunk, []http.Frame], actors.EndFunc[[]http.Frame]) {
	f := http.NewRequestFramer(lim, false)
	step := func(ctx context.Context, chunk connio.Chunk, out *actors.Output[[]http.Frame]) error {
		if f.Failed() {
			chunk.Release()
			return actors.ErrFinished
		}
		if chunk.Data == nil { // a read deadline passed
			if f.Partial() {
				out.Send([]http.Frame{{Err: &http.Error{Status: http.StatusRequestTimeout, Reason: "request not received in time"}}})
			}
			return actors.ErrFinished
		}
		was := f.Partial()
		batch := f.Feed(nil, chunk.Data)
		chunk.Release()
		switch {
		case f.Partial() && (!was || len(batch) > 0):
			clock.requestStarted()
		case !f.Partial() && was || len(batch) > 0:
			clock.betweenRequests()
		}
		if len(batch) > 0 && !out.Send(batch) {
			return nil
		}
		if f.Failed() {
			return actors.ErrFinished
		}
		return nil
	}
	return step, nil
}
