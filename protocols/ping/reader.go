package ping

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"netstages/actors"
)

// Datagram is one datagram from the reader stage, or a tick.
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

// udpConner is a socket that wraps a real UDP socket (ping's Connected).
type udpConner interface{ UDPConn() *net.UDPConn }

// BatchSize is how many datagrams the reader takes from the kernel in one
// recvmmsg(2) on a real UDP socket; each slot has a buffer of MaxDatagram
// bytes, so no datagram is ever cut short.
const BatchSize = 8

// batchConn is the recvmmsg/sendmmsg side of golang.org/x/net's ipv4/ipv6
// PacketConn.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// batchConnOf returns the batch side of a real UDP socket, nil for anything
// else (a mem socket reads and writes one datagram at a time).
func batchConnOf(pc any) batchConn {
	uc, ok := pc.(*net.UDPConn)
	if u, isConner := pc.(udpConner); isConner {
		uc, ok = u.UDPConn(), true
	}
	if !ok || uc == nil {
		return nil
	}
	if la, isUDP := uc.LocalAddr().(*net.UDPAddr); isUDP && la.IP.To4() == nil {
		return ipv6.NewPacketConn(uc)
	}
	return ipv4.NewPacketConn(uc)
}

// SocketBuffer is the receive and send buffer asked for on real UDP
// sockets (the kernel caps it at net.core.rmem_max/wmem_max). The default
// 208 KiB holds only about 270 small datagrams, 13 ms at 20,000 packets/s:
// one scheduling hiccup on a busy machine and the kernel drops the rest.
const SocketBuffer = 4 << 20

// growBuffers asks for SocketBuffer on a real UDP socket; anything else is
// left alone.
func growBuffers(pc any) {
	if u, ok := pc.(udpConner); ok {
		pc = u.UDPConn()
	}
	if uc, ok := pc.(*net.UDPConn); ok && uc != nil {
		uc.SetReadBuffer(SocketBuffer)
		uc.SetWriteBuffer(SocketBuffer)
	}
}

// ReadDatagrams is the reader stage of both pipelines. Each item is a batch:
// every datagram one read returned (up to BatchSize with recvmmsg on a real
// UDP socket, one otherwise), copied out at its exact length. When tick > 0
// it is also the pipeline's clock: it keeps a read deadline at most tick
// ahead and, when it passes with nothing read, sends a batch holding one
// Tick, so the handler can expire timeouts without a timer of its own and
// every stage keeps a single input.
func ReadDatagrams(pc PacketReader, tick time.Duration) actors.SourceFunc[[]Datagram] {
	return func(ctx context.Context, out *actors.Output[[]Datagram]) error {
		read := singleReader(pc)
		if br := batchConnOf(pc); br != nil {
			read = batchedReader(br, pc)
		}
		var next time.Time
		if tick > 0 {
			next = time.Now().Add(tick)
			if err := pc.SetReadDeadline(next); err != nil {
				return fmt.Errorf("read: %w", err)
			}
		}
		for {
			batch, err := read()
			now := time.Now()
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				if ctx.Err() != nil {
					return nil // closed by the interrupt
				}
				return fmt.Errorf("read: %w", err)
			}
			for i := range batch {
				batch[i].At = now
			}
			if tick > 0 && !now.Before(next) {
				next = now.Add(tick)
				if err := pc.SetReadDeadline(next); err != nil {
					return fmt.Errorf("read: %w", err)
				}
				if len(batch) == 0 {
					batch = []Datagram{{At: now, Tick: true}}
				}
			}
			if len(batch) > 0 && !out.Send(batch) {
				return nil
			}
		}
	}
}

// singleReader reads one datagram per call with ReadFrom.
func singleReader(pc PacketReader) func() ([]Datagram, error) {
	buf := make([]byte, MaxDatagram+1)
	return func() ([]Datagram, error) {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return nil, err
		}
		return []Datagram{{Data: append([]byte(nil), buf[:n]...), From: from}}, nil
	}
}

// batchedReader reads up to BatchSize datagrams per call with recvmmsg.
func batchedReader(br batchConn, pc PacketReader) func() ([]Datagram, error) {
	msgs := make([]ipv4.Message, BatchSize)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, MaxDatagram+1)}
	}
	var remote net.Addr
	if u, ok := pc.(udpConner); ok {
		remote = u.UDPConn().RemoteAddr()
	}
	return func() ([]Datagram, error) {
		n, err := br.ReadBatch(msgs, 0)
		if err != nil {
			return nil, err
		}
		batch := make([]Datagram, n)
		for i, m := range msgs[:n] {
			from := m.Addr
			if from == nil {
				from = remote
			}
			batch[i] = Datagram{Data: append([]byte(nil), m.Buffers[0][:m.N]...), From: from}
		}
		return batch, nil
	}
}
