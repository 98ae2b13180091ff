package proxy

import (
	"bytes"
	"context"
	"errors"
	"net"

	"netstages/actors"
	"netstages/actors/connio"
	wire "netstages/protocols/http"
)

// StreamThreshold is the largest request body read whole before it is
// forwarded; such a request can be sent again on a fresh origin connection
// if a kept-alive one turns out dead. Larger bodies, and every chunked one,
// are streamed to the origin piece by piece as they arrive.
const StreamThreshold = 64 << 10

// Inbound is what the framer passes on: a request (its head, and its body
// when it is small), a piece of a streamed request body, or, after a
// CONNECT, raw tunnel bytes.
type Inbound struct {
	// Frame is a request or a framing error. Frame.Body holds a small
	// body; it is nil when Streamed.
	Frame wire.Frame
	// Streamed says the body follows in Body items.
	Streamed bool
	// Body is a piece of the streamed body of the last request, as it goes
	// on the wire (still chunk-coded when the request is chunked); BodyEnd
	// marks the last piece. The slice belongs to the receiver.
	Body    []byte
	IsBody  bool
	BodyEnd bool
	// Raw holds client bytes for a tunnel; whoever takes it releases it.
	Raw   connio.Chunk
	IsRaw bool
}

type framerState uint8

const (
	stateHead framerState = iota
	stateBody
	stateChunked
	stateRaw
	stateFailed
)

// Framer cuts a client's byte stream into Inbound items. It finds each
// head with the limits of wire.Limits (414, 431), parses it with
// wire.ParseRequestHead, and frames the body by Content-Length or the
// chunked coding (wire.ChunkedDecoder finds the end of a chunked body
// without decoding it away). After a CONNECT every later byte is raw. A
// Framer is used by one goroutine.
type Framer struct {
	lim       wire.Limits
	state     framerState
	head      []byte // the start of a head whose end has not arrived
	cur       wire.Frame
	stream    bool  // the current body is streamed
	remaining int64 // Content-Length bytes still to come
	chunks    *wire.ChunkedDecoder
}

// NewFramer returns a framer bounded by lim (zero fields: defaults;
// MaxBodyBytes bounds every body, streamed or not: 413 beyond).
func NewFramer(lim wire.Limits) *Framer { return &Framer{lim: lim.WithDefaults()} }

// Failed reports whether the framer produced an error and stopped.
func (f *Framer) Failed() bool { return f.state == stateFailed }

// Partial reports whether a request has started and not ended: part of a
// head, or a body still to come.
func (f *Framer) Partial() bool {
	return f.headPartial() || f.state == stateBody || f.state == stateChunked
}

// headPartial reports whether part of a head has arrived.
func (f *Framer) headPartial() bool { return f.state == stateHead && len(f.head) > 0 }

// Raw reports whether the framer has passed a CONNECT and now passes
// bytes on raw.
func (f *Framer) Raw() bool { return f.state == stateRaw }

// Feed appends to batch the items data completes. data is not kept.
func (f *Framer) Feed(batch []Inbound, data []byte) []Inbound {
	for len(data) > 0 {
		switch f.state {
		case stateFailed, stateRaw:
			return batch
		case stateHead:
			batch, data = f.feedHead(batch, data)
		case stateBody:
			n := int(min(f.remaining, int64(len(data))))
			f.remaining -= int64(n)
			if f.stream {
				batch = append(batch, Inbound{Body: bytes.Clone(data[:n]), IsBody: true, BodyEnd: f.remaining == 0})
			} else {
				f.cur.Body = append(f.cur.Body, data[:n]...)
				if f.remaining == 0 {
					batch = append(batch, Inbound{Frame: f.cur})
				}
			}
			data = data[n:]
			if f.remaining == 0 {
				f.cur, f.state = wire.Frame{}, stateHead
			}
		case stateChunked:
			_, n, err := f.chunks.Feed(nil, data, false)
			if err != nil {
				return f.fail(batch, err.(*wire.Error))
			}
			if n > 0 || f.chunks.Done() {
				batch = append(batch, Inbound{Body: bytes.Clone(data[:n]), IsBody: true, BodyEnd: f.chunks.Done()})
			}
			data = data[n:]
			if f.chunks.Done() {
				f.cur, f.chunks, f.state = wire.Frame{}, nil, stateHead
			}
		}
	}
	return batch
}

// fail ends framing with an error item.
func (f *Framer) fail(batch []Inbound, err *wire.Error) []Inbound {
	f.state, f.head, f.chunks = stateFailed, nil, nil
	return append(batch, Inbound{Frame: wire.Frame{Err: err}})
}

// feedHead looks for the end of a head in the kept bytes plus data and
// returns what data is left after it.
func (f *Framer) feedHead(batch []Inbound, data []byte) ([]Inbound, []byte) {
	b := append(f.head, data...) // a copy: data goes back to the pool
	if len(f.head) == 0 {
		b = bytes.TrimLeft(b, "\r\n") // empty lines before a request line (RFC 9112 §2.2)
		if len(b) == 0 {
			return batch, nil
		}
	}
	end, blank, err := scanHead(b, f.lim)
	if err != nil {
		return f.fail(batch, err), nil
	}
	if end < 0 {
		f.head = b
		return batch, nil
	}
	f.head = nil
	consumed := len(data) - (len(b) - end) // bytes of data that belonged to the head
	rest := data[consumed:]
	req, perr := wire.ParseRequestHead(b[:blank], f.lim)
	if perr != nil {
		return f.fail(batch, perr.(*wire.Error)), nil
	}
	f.cur = wire.Frame{Req: req}
	switch {
	case req.Method == "CONNECT":
		batch = append(batch, Inbound{Frame: f.cur})
		f.state = stateRaw
		if len(rest) > 0 {
			batch = append(batch, Inbound{Raw: connio.Chunk{Data: bytes.Clone(rest)}, IsRaw: true}) // sent with the CONNECT head
		}
		return batch, nil
	case req.ContentLength > f.lim.MaxBodyBytes:
		return f.fail(batch, &wire.Error{Status: wire.StatusContentTooLarge, Reason: "request body over the limit"}), nil
	case req.Chunked:
		f.state, f.stream, f.chunks = stateChunked, true, wire.NewChunkedDecoder(f.lim)
		f.cur.BodyLen = -1
		batch = append(batch, Inbound{Frame: f.cur, Streamed: true})
	case req.ContentLength > StreamThreshold:
		f.state, f.stream, f.remaining = stateBody, true, req.ContentLength
		f.cur.BodyLen = req.ContentLength
		batch = append(batch, Inbound{Frame: f.cur, Streamed: true})
	case req.ContentLength > 0:
		f.state, f.stream, f.remaining = stateBody, false, req.ContentLength
		f.cur.BodyLen, f.cur.Body = req.ContentLength, make([]byte, 0, req.ContentLength)
	default:
		batch = append(batch, Inbound{Frame: f.cur})
		f.cur = wire.Frame{}
	}
	return batch, rest
}

// scanHead finds the empty line that ends a head: it returns the head's end
// (after the empty line) and where the empty line starts, or end -1 when
// more bytes are needed. Lines end in LF (CRLF or bare LF, RFC 9112 §2.2).
func scanHead(b []byte, lim wire.Limits) (end, blank int, err *wire.Error) {
	pos, lines := 0, 0
	for {
		i := bytes.IndexByte(b[pos:], '\n')
		if i < 0 {
			break
		}
		line := b[pos : pos+i+1]
		if lines == 0 && len(line) > lim.MaxRequestLine {
			return -1, 0, &wire.Error{Status: wire.StatusURITooLong, Reason: "request line too long"}
		}
		if pos+i+1 > lim.MaxHeaderBytes {
			return -1, 0, &wire.Error{Status: wire.StatusRequestHeaderFieldsTooLarge, Reason: "header block too large"}
		}
		if lines > 0 && (len(line) == 1 || len(line) == 2 && line[0] == '\r') {
			return pos + i + 1, pos, nil
		}
		lines++
		pos += i + 1
	}
	if lines == 0 && len(b) > lim.MaxRequestLine {
		return -1, 0, &wire.Error{Status: wire.StatusURITooLong, Reason: "request line too long"}
	}
	if len(b) > lim.MaxHeaderBytes {
		return -1, 0, &wire.Error{Status: wire.StatusRequestHeaderFieldsTooLarge, Reason: "header block too large"}
	}
	return -1, 0, nil
}

// FrameRequests is the framer stage: chunks in, one batch of items out per
// chunk that completed at least one. After a CONNECT, chunks go on raw
// (bytes that came with the CONNECT head first).
func FrameRequests(lim wire.Limits) actors.StageFunc[connio.Chunk, []Inbound] {
	return frameRequests(lim, nil)
}

// frameRequests is FrameRequests keeping the connection's deadlines (clock
// may be nil): a zero chunk from the reader says a read deadline passed,
// which is a 408 when a request was half sent.
func frameRequests(lim wire.Limits, clock *deadlines) actors.StageFunc[connio.Chunk, []Inbound] {
	return func(ctx context.Context, in *actors.Input[connio.Chunk], out *actors.Output[[]Inbound]) error {
		f := NewFramer(lim)
		for chunk := range in.All() {
			if chunk.Data == nil { // a read deadline passed
				if f.headPartial() || f.state == stateBody && !f.stream {
					out.Send([]Inbound{{Frame: wire.Frame{Err: &wire.Error{Status: wire.StatusRequestTimeout, Reason: "request not received in time"}}}})
				}
				return nil
			}
			if f.Raw() {
				if !out.Send([]Inbound{{Raw: chunk, IsRaw: true}}) {
					chunk.Release()
					return nil
				}
				continue
			}
			was := f.headPartial()
			batch := f.Feed(nil, chunk.Data)
			chunk.Release()
			if clock != nil {
				switch {
				case f.Raw():
					clock.tunnelOpened()
				case f.headPartial() && (!was || len(batch) > 0):
					clock.headStarted()
				case !f.headPartial():
					clock.between()
				}
			}
			if len(batch) > 0 && !out.Send(batch) {
				return nil
			}
			if f.Failed() {
				// The stream cannot be trusted past an error: what follows is
				// read and dropped while the writer lingers over the answer,
				// so that the client is not reset before it reads it.
				for chunk := range in.All() {
					chunk.Release()
				}
				return nil
			}
		}
		return nil
	}
}

// read is the reader stage: connio.ReadChunks, except that the deadline
// the writer sets for a lingering close ends it cleanly.
func (h *handler) read(read actors.SourceFunc[connio.Chunk]) actors.SourceFunc[connio.Chunk] {
	return func(ctx context.Context, out *actors.Output[connio.Chunk]) error {
		h.clock.between()
		err := read(ctx, out)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			if !h.lingering.Load() {
				out.Send(connio.Chunk{}) // tells the framer: 408 if a request was half sent
			}
			return nil
		}
		return err
	}
}
