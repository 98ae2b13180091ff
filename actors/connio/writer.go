package connio

import (
	"bufio"
	"io"
	"sync"
)

// WriterPool lends bufio.Writers to writer stages.
type WriterPool struct {
	writers sync.Pool
}

// NewWriterPool returns an empty pool of 4 KiB bufio.Writers.
func NewWriterPool() *WriterPool {
	return &WriterPool{}
}

// FlushingWriter buffers a writer stage's output and holds a pooled
// bufio.Writer only between the first write and the next flush, so an idle
// connection holds none. It is used by one stage goroutine.
type FlushingWriter struct {
	dst  io.Writer
	pool *WriterPool
	bw   *bufio.Writer
}

// NewFlushingWriter writes to dst through buffers from pool.
func NewFlushingWriter(dst io.Writer, pool *WriterPool) *FlushingWriter {
	return &FlushingWriter{dst: dst, pool: pool}
}

// Write buffers p, taking a buffer from the pool if it holds none.
func (w *FlushingWriter) Write(p []byte) (int, error) {
	if w.bw == nil {
		if v := w.pool.writers.Get(); v != nil {
			w.bw = v.(*bufio.Writer)
			w.bw.Reset(w.dst)
		} else {
			w.bw = bufio.NewWriterSize(w.dst, BufferSize)
		}
	}
	return w.bw.Write(p)
}

// Flush writes out what is buffered and gives the buffer back to the pool.
func (w *FlushingWriter) Flush() error {
	if w.bw == nil {
		return nil
	}
	err := w.bw.Flush()
	w.bw.Reset(nil)
	w.pool.writers.Put(w.bw)
	w.bw = nil
	return err
}
