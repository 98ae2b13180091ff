package httpd

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"

	"netstages/actors"
	"netstages/actors/bus"
	"netstages/actors/connio"
)

// smallBody is the largest file section copied through the write buffer,
// so that head and body leave in one write(2); larger sections go by
// sendfile(2) straight from the file to the socket.
const smallBody = 16 << 10

// bodyPool lends the buffers small file sections are read into.
type bodyPool struct{ bufs sync.Pool }

func newBodyPool() *bodyPool {
	p := &bodyPool{}
	p.bufs.New = func() any {
		b := make([]byte, smallBody)
		return &b
	}
	return p
}

// WriterStage is the writer: heads and small bodies go through a pooled
// buffered writer that is flushed only when no more responses are waiting;
// large file sections are copied straight to the raw connection, so a
// *net.TCPConn uses sendfile(2). After a response that closes the
// connection it flushes, half-closes and ends the pipeline.
func (s *Server) WriterStage(conn net.Conn, files *openFiles, clock *deadlines) (actors.SinkStepFunc[[]Response], func(context.Context) error) {
	w := connio.NewFlushingWriter(conn, s.writes)
	step := func(ctx context.Context, resps []Response, more bool) error {
		clock.writing()
		for i := range resps {
			resp := &resps[i]
			n, err := s.writeOne(w, conn, resp, files, clock)
			s.record(resp, n)
			if err != nil {
				return fmt.Errorf("write: %w", err)
			}
			if resp.close {
				if err := w.Flush(); err != nil {
					return fmt.Errorf("write: %w", err)
				}
				clock.closeWrite()
				return actors.ErrFinished
			}
		}
		if !more {
			if err := w.Flush(); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			clock.responded()
		}
		return nil
	}
	end := func(ctx context.Context) error {
		if err := w.Flush(); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
	return step, end
}

// writeOne writes a response and returns how many body bytes went out.
func (s *Server) writeOne(w *connio.FlushingWriter, conn net.Conn, resp *Response, files *openFiles, clock *deadlines) (int64, error) {
	if _, err := w.Write(resp.head); err != nil {
		return 0, err
	}
	n, err := w.Write(resp.data)
	sent := int64(n)
	if err != nil || resp.file == nil {
		return sent, err
	}
	body := resp.file
	if body.file != nil {
		defer files.release(body)
	}
	for _, p := range body.parts {
		if _, err := w.Write(p.prefix); err != nil {
			return sent, err
		}
		sent += int64(len(p.prefix))
		k, err := s.copySection(w, conn, body, p, clock)
		sent += k
		if err != nil {
			return sent, err
		}
	}
	k, err := w.Write(body.tail)
	return sent + int64(k), err
}

// copySection sends n bytes of the file from off: through the buffer when
// small, else flushing first and letting the connection pull from the file.
func (s *Server) copySection(w *connio.FlushingWriter, conn net.Conn, body *fileBody, p section, clock *deadlines) (int64, error) {
	if body.mem != nil {
		k, err := w.Write(body.mem[p.off : p.off+p.n])
		return int64(k), err
	}
	bp := s.bodies.bufs.Get().(*[]byte)
	defer s.bodies.bufs.Put(bp)
	buf := *bp
	if p.n <= int64(len(buf)) {
		k, err := body.file.ReadAt(buf[:p.n], p.off)
		if int64(k) < p.n {
			return 0, fmt.Errorf("file shrank while sending: %w", orEOF(err))
		}
		k, err = w.Write(buf[:k])
		return int64(k), err
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	if _, err := body.file.Seek(p.off, io.SeekStart); err != nil {
		return 0, err
	}
	// conn is the raw connection: *net.TCPConn.ReadFrom sees an
	// *io.LimitedReader of an *os.File and calls sendfile(2). Each step of
	// sendStep bytes gets the write timeout anew: progress, not total time,
	// is what a slow client is held to.
	var sent int64
	for sent < p.n {
		clock.writing()
		step := min(p.n-sent, sendStep)
		k, err := io.CopyBuffer(conn, &io.LimitedReader{R: body.file, N: step}, buf)
		sent += k
		if err != nil {
			return sent, err
		}
		if k < step {
			return sent, fmt.Errorf("file shrank while sending: %w", io.ErrUnexpectedEOF)
		}
	}
	return sent, nil
}

// sendStep is how much of a file one write deadline covers.
const sendStep = 1 << 20

func orEOF(err error) error {
	if err == nil {
		return io.ErrUnexpectedEOF
	}
	return err
}

// record counts the response and publishes its access-log event.
func (s *Server) record(resp *Response, bytes int64) {
	if m := s.cfg.Metrics; m != nil {
		m.observe(resp.Status, bytes)
	}
	if s.cfg.Bus == nil {
		return
	}
	now := s.cfg.Now()
	e := bus.RequestDone{Server: s.cfg.Name, Time: now, Status: resp.Status, Bytes: bytes, Method: "-", Target: "-", Proto: "-"}
	if r := resp.req; r != nil {
		e.RemoteHost = r.Remote
		if !r.Received.IsZero() {
			e.Duration = now.Sub(r.Received)
		}
		if r.Wire != nil {
			e.Method, e.Target, e.Proto = r.Wire.Method, r.Wire.Target, r.Wire.Proto()
			e.Referer, e.UserAgent = r.Wire.Header.Get("Referer"), r.Wire.Header.Get("User-Agent")
		}
	}
	s.cfg.Bus.Publish(e)
}
