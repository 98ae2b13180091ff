package ping

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"netstages/actors"
)

// Datagram is one item from the reader stage: a datagram, or a tick.
type Datagram struct {
	// Data is the payload, owned by the receiver.
	Data []byte
	// From is the sender's address.
	From net.Addr
	// At is when the read returned, on the monotonic clock.
	At time.Time
	// Tick marks an item that carries no datagram, only the time: the
	// reader's clock for the timeouts of the stages downstream.
	Tick bool
}

// PacketReader is the receiving half of a datagram socket.
type PacketReader interface {
	ReadFrom(b []byte) (int, net.Addr, error)
	SetReadDeadline(t time.Time) error
}

// ReadDatagrams is the reader stage of both pipelines. It reads one
// datagram per item into a buffer of bufSize bytes and hands on a copy of
// exactly its length. When tick > 0 it is also the pipeline's clock: it
// keeps a read deadline at most tick ahead, and at least once per tick
// sends a Tick item (or a datagram, which carries the time too), so the
// handler can expire timeouts without a timer of its own and every stage
// keeps a single input.
func ReadDatagrams(pc PacketReader, bufSize int, tick time.Duration) actors.SourceFunc[Datagram] {
	return func(ctx context.Context, out *actors.Output[Datagram]) error {
		buf := make([]byte, bufSize)
		var next time.Time
		if tick > 0 {
			next = time.Now().Add(tick)
			if err := pc.SetReadDeadline(next); err != nil {
				return fmt.Errorf("read: %w", err)
			}
		}
		for {
			n, from, err := pc.ReadFrom(buf)
			now := time.Now()
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				if ctx.Err() != nil {
					return nil // closed by the interrupt
				}
				return fmt.Errorf("read: %w", err)
			}
			var d Datagram
			if err == nil {
				d = Datagram{Data: append([]byte(nil), buf[:n]...), From: from, At: now}
			}
			if tick > 0 && !now.Before(next) {
				next = now.Add(tick)
				if err := pc.SetReadDeadline(next); err != nil {
					return fmt.Errorf("read: %w", err)
				}
				if err != nil {
					d = Datagram{At: now, Tick: true}
				}
			}
			if (err == nil || d.Tick) && !out.Send(d) {
				return nil
			}
		}
	}
}
