package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"netstages/actors"
	"netstages/actors/bus"
	"netstages/actors/connio"
	"netstages/transport"
)

// write is the writer stage: heads and in-memory bodies go through a pooled
// buffer flushed when no response is waiting; an origin's body is copied
// straight to the client connection (splice-capable), and so is a tunnel.
func (h *handler) write(ctx context.Context, in *actors.Input[[]Response]) error {
	fw := connio.NewFlushingWriter(h.conn, h.cfg.Writers)
	defer fw.Flush()
	for batch := range in.All() {
		for i, r := range batch {
			h.clock.responding()
			n, err := h.writeOne(fw, r)
			h.clock.responded()
			if r.interim {
				if err == nil {
					h.clock.writing()
					err = fw.Flush() // the client is waiting for it
				}
				if err != nil {
					return fmt.Errorf("write: %w", err)
				}
				continue
			}
			h.logDone(r, n)
			if err != nil {
				abortRest(batch[i+1:])
				return err
			}
			if r.tunnel != nil {
				return h.runTunnel(in, r.tunnel)
			}
			if r.close {
				abortRest(batch[i+1:])
				h.clock.writing()
				if err := fw.Flush(); err != nil {
					return fmt.Errorf("write: %w", err)
				}
				h.linger(in)
				return nil
			}
		}
		if in.Pending() == 0 {
			h.clock.writing()
			if err := fw.Flush(); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
	}
	return nil
}

// writeOne writes one response and returns the bytes it put on the wire.
func (h *handler) writeOne(fw *connio.FlushingWriter, r Response) (int64, error) {
	n := int64(len(r.head) + len(r.body))
	h.clock.writing()
	if _, err := fw.Write(r.head); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	if _, err := fw.Write(r.body); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	if r.up == nil && r.tunnel == nil {
		return n, nil
	}
	h.clock.writing()
	if err := fw.Flush(); err != nil {
		if r.up != nil && h.removePending(r.up) {
			r.up.abort()
		}
		return 0, fmt.Errorf("write: %w", err)
	}
	if r.up == nil {
		return n, nil
	}
	if !h.removePending(r.up) {
		return n, errors.New("body already given up")
	}
	m, err := r.up.relay(h.conn)
	return n + m, err
}

// runTunnel copies the origin's bytes to the client until the origin
// closes its side, then half-closes the client's side; the handler copies
// the other way until the client closes. The pipeline ends when both are
// done.
func (h *handler) runTunnel(in *actors.Input[[]Response], u *upConn) error {
	h.clock.tunnelOpened()
	_, err := io.Copy(h.conn, u.Conn)
	if cw, ok := h.conn.(transport.CloseWriter); ok && err == nil {
		cw.CloseWrite()
	}
	for batch := range in.All() { // wait for the client→origin half
		abortRest(batch)
	}
	h.untrack(u)
	u.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("tunnel: %w", err)
	}
	return nil
}

func abortRest(rs []Response) {
	for _, r := range rs {
		if r.up != nil && r.up.h.removePending(r.up) {
			r.up.abort()
		}
	}
}

// logDone counts the response and publishes its access-log event.
func (h *handler) logDone(r Response, n int64) {
	h.cfg.Stats.Requests.Add(1)
	h.cfg.Stats.BytesOut.Add(uint64(n))
	if h.cfg.Bus == nil {
		return
	}
	remote := h.conn.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(remote); err == nil {
		remote = host
	}
	h.cfg.Bus.Publish(bus.RequestDone{Server: "proxy", RemoteHost: remote, Time: r.start, Method: r.method,
		Target: r.target, Proto: r.proto, Status: r.status, Bytes: n, Duration: h.cfg.Now().Sub(r.start)})
}

// lingerTime bounds the lingering close.
const lingerTime = time.Second

// linger ends a connection after its last response without destroying
// that response: the write side is shut (the FIN follows the response), and
// what the client still sends is read and dropped for at most lingerTime,
// because closing with unread bytes would reset the connection and the
// client could lose the response (a 403 or 413 to an upload, say). The
// stages upstream keep reading and drop everything once the handler has
// answered with close.
func (h *handler) linger(in *actors.Input[[]Response]) {
	cw, ok := h.conn.(transport.CloseWriter)
	if !ok {
		return
	}
	h.lingering.Store(true)
	cw.CloseWrite()
	h.conn.SetReadDeadline(h.cfg.Now().Add(lingerTime))
	for batch := range in.All() {
		abortRest(batch)
	}
}
