package connio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"netstages/actors"
)

// Sizes of the reader's buffers.
const (
	IdleBufferSize = 512     // held by every connection while it waits
	BufferSize     = 4 << 10 // borrowed from the pool while data flows
)

// Pool lends 4 KiB buffers to readers. One Pool can serve every connection.
type Pool struct {
	bufs sync.Pool
}

// NewPool returns an empty buffer pool.
func NewPool() *Pool {
	p := &Pool{}
	p.bufs.New = func() any {
		b := make([]byte, BufferSize)
		return &b
	}
	return p
}

func (p *Pool) get() *[]byte  { return p.bufs.Get().(*[]byte) }
func (p *Pool) put(b *[]byte) { p.bufs.Put(b) }

// Chunk is bytes read from a connection, in a pooled buffer.
type Chunk struct {
	// Data is what one read returned.
	Data []byte
	buf  *[]byte
	pool *Pool
}

// Release gives the chunk's buffer back to the pool; Data must not be used
// afterwards. Release on a zero Chunk does nothing.
func (c *Chunk) Release() {
	if c.buf != nil {
		c.pool.put(c.buf)
		c.buf, c.Data = nil, nil
	}
}

// ReadChunks is the reader stage: it reads conn until EOF and sends each
// read as a Chunk. A clean EOF, or the pipeline closing conn, ends it
// without error; a reset or other failure is returned.
func ReadChunks(conn net.Conn, pool *Pool) actors.SourceFunc[Chunk] {
	return func(ctx context.Context, out *actors.Output[Chunk]) error {
		idle := make([]byte, IdleBufferSize)
		filled := false // the last read filled its buffer: more is likely waiting
		for {
			chunk, err := readOnce(conn, pool, idle, filled)
			if chunk.Data != nil {
				filled = len(chunk.Data) == cap(chunk.Data) || len(chunk.Data) == len(idle)
				if !out.Send(chunk) {
					chunk.Release()
					return nil
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
					return nil
				}
				return fmt.Errorf("read: %w", err)
			}
		}
	}
}

// readOnce reads into the idle buffer (copying the bytes into a pooled one)
// or, when data is streaming, straight into a pooled buffer.
func readOnce(conn net.Conn, pool *Pool, idle []byte, streaming bool) (Chunk, error) {
	if streaming {
		buf := pool.get()
		n, err := conn.Read(*buf)
		if n == 0 {
			pool.put(buf)
			return Chunk{}, err
		}
		return Chunk{Data: (*buf)[:n], buf: buf, pool: pool}, err
	}
	n, err := conn.Read(idle)
	if n == 0 {
		return Chunk{}, err
	}
	buf := pool.get()
	return Chunk{Data: (*buf)[:copy(*buf, idle[:n])], buf: buf, pool: pool}, err
}
