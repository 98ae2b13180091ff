// Package deadline is the settable deadline every in-process net.Conn needs
// (transport/mem, the simulator): Set arms it like SetReadDeadline, and the
// channel from Wait closes when the time passes. Timers come from the time
// package, so deadlines run on fake time inside testing/synctest bubbles. A
// Deadline is safe for concurrent use.
package deadline

import (
	"sync"
	"time"
)

// Deadline closes the channel returned by Wait when its time passes.
type Deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{} // closed when the deadline passes
}

// New returns a disarmed deadline.
func New() *Deadline { return &Deadline{cancel: make(chan struct{})} }

// Set arms the deadline; the zero time disarms it, a past time fires it now.
func (d *Deadline) Set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer fired and closed cancel: wait for it
	}
	d.timer = nil
	closed := Closed(d.cancel)
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

// Wait returns a channel that is closed when the deadline passes.
func (d *Deadline) Wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

// Stop disarms the timer so no goroutine outlives the owner.
func (d *Deadline) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
	}
}

// Closed reports whether c is closed, without blocking.
func Closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
