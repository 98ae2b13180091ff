package connio_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/actors"
	"netstages/actors/connio"
	"netstages/transport/mem"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestReaderDeliversEveryByteInOrder sends 100 KiB through a mem conn and
// collects the chunks: small reads come through the idle buffer, large ones
// straight into pooled buffers, and nothing is lost or reordered.
func TestReaderDeliversEveryByteInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		client, server := mem.Pipe(mem.Addr{HostPort: "c:1"}, mem.Addr{HostPort: "s:1"}, 0)
		defer server.Close()
		payload := make([]byte, 100<<10)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		go func() {
			client.Write([]byte("hi\n")) // a small read first
			synctest.Wait()
			client.Write(payload)
			client.Close()
		}()
		p := actors.New("read", nil)
		p.OnInterrupt(func() { server.Close() })
		chunks := actors.Source(p, actors.Spec{Name: "reader", Role: actors.RoleReader}, connio.ReadChunks(server, connio.NewPool()), 4)
		var got []byte
		var sizes []int
		actors.Sink(p, actors.Spec{Name: "collect", Role: actors.RoleWriter}, chunks, func(ctx context.Context, in *actors.Input[connio.Chunk]) error {
			for c := range in.All() {
				got = append(got, c.Data...)
				sizes = append(sizes, len(c.Data))
				c.Release()
				is.Equal(c.Data, nil) // released chunks forget their bytes
			}
			return nil
		})
		is.NoErr(p.Run(context.Background())) // EOF is a clean end
		is.True(bytes.Equal(got, append([]byte("hi\n"), payload...)))
		is.Equal(sizes[0], 3)                     // the small read
		is.Equal(sizes[1], connio.IdleBufferSize) // then the idle buffer fills...
		is.Equal(sizes[2], connio.BufferSize)     // ...so the next read borrows a 4 KiB buffer
	})
}

func TestFlushingWriterHoldsNoBufferWhenIdle(t *testing.T) {
	is := is.New(t)
	var out bytes.Buffer
	w := connio.NewFlushingWriter(&out, connio.NewWriterPool())
	is.NoErr(w.Flush()) // nothing to flush
	io.WriteString(w, "hello ")
	io.WriteString(w, "world")
	is.Equal(out.Len(), 0) // buffered until Flush
	is.NoErr(w.Flush())
	is.Equal(out.String(), "hello world")
	io.WriteString(w, "!")
	is.NoErr(w.Flush())
	is.Equal(out.String(), "hello world!") // a pooled buffer is taken again
}
