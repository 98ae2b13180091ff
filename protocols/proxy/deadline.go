package proxy

import (
	"sync"
	"time"
)

// deadlines keeps a client connection's deadlines. Reads: IdleTimeout
// while nothing of a next request has arrived (and between pieces of a
// request body: each read must bring bytes within IdleTimeout, so a slow
// upload that keeps moving is fine), ReadHeaderTimeout from the first byte
// of a head to its end, none while the client waits for a response or runs
// a tunnel. Writes: each write to the client, and each slice of a relayed
// body, gets WriteTimeout to make progress. The framer says where heads
// start and end; the writer says when a response starts and ends. Safe for
// concurrent use by the stages of one connection.
type deadlines struct {
	h       *handler
	mu      sync.Mutex
	partial bool // a head has started and not ended
	waiting int  // responses being written
	tunnel  bool
}

// headStarted: the first bytes of a head arrived.
func (d *deadlines) headStarted() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.partial = true
	if d.h.lingering.Load() {
		return
	}
	d.h.conn.SetReadDeadline(d.h.cfg.Now().Add(d.h.cfg.ReadHeaderTimeout))
}

// between: no head is in progress (after a head, or during a body); the
// next read must come within the idle timeout unless a response is being
// written.
func (d *deadlines) between() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.partial = false
	d.armIdle()
}

// armIdle sets the idle read deadline when nothing else governs; d.mu held.
func (d *deadlines) armIdle() {
	switch {
	case d.tunnel, d.partial, d.h.lingering.Load():
	case d.waiting > 0:
		d.h.conn.SetReadDeadline(time.Time{})
	default:
		d.h.conn.SetReadDeadline(d.h.cfg.Now().Add(d.h.cfg.IdleTimeout))
	}
}

// tunnelOpened: raw bytes from now on; a tunnel may be idle as long as its
// ends like.
func (d *deadlines) tunnelOpened() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tunnel = true
	d.h.conn.SetReadDeadline(time.Time{})
	d.h.conn.SetWriteDeadline(time.Time{})
}

// responding: the writer starts on a response; the client is not idle.
func (d *deadlines) responding() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.waiting++
	d.armIdle()
}

// responded: the writer is done with a response.
func (d *deadlines) responded() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.waiting--
	d.armIdle()
}

// writing gives the next write to the client WriteTimeout to make progress.
func (d *deadlines) writing() {
	if w := d.h.cfg.WriteTimeout; w > 0 {
		d.h.conn.SetWriteDeadline(d.h.cfg.Now().Add(w))
	}
}
