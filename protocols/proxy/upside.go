package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"netstages/actors"
	wire "netstages/protocols/http"
)

// The upstream side of a client connection's pipeline: the handler hands
// each exchange with an origin (a miss, a revalidation, a forwarded
// request, the pieces of a streamed upload) to these stages and waits for
// their answer; they write the request to a pooled origin connection and
// read its response head back. The body is not read here: the client
// side's writer relays it from the origin socket (splice), so nothing but
// the head passes through the stages. The five after "misses" are step
// stages fused into it, and "misses" hands its output to the handler, so the
// handler's Send runs them as direct calls in its own goroutine: an
// exchange costs no goroutine hand-off, as when the handler did the I/O
// itself. The "misses" goroutine only holds the door: it gives its output
// to the handler and waits for the pipeline's end and the handler's return.
//
//	misses → origin writer → origin reader → response framer → response parser → to handler

// upRequest is one job for the upstream stages: bytes to write to an
// origin connection and, when read is set, the response head to read back.
// The handler makes it and Sends it into "misses"; before Send returns, the
// stage that finishes it has delivered exactly one upReply (in rep).
type upRequest struct {
	conn        *upConn
	data        []byte // written first (request head and body, or a body piece)
	op          string // what writing data is, for errors: "send to", "send body to"
	read        bool   // read the final response head after writing
	method      string // the request's method (a HEAD response has no body)
	requestTime time.Time

	head     []byte  // the response head being cut (framer)
	consumed int     // response bytes the framer has taken
	got      int     // response bytes seen (0: the origin answered nothing)
	finished bool    // the reply has been delivered
	rep      upReply // the reply
}

// upReply is the upstream stages' answer to one upRequest: the exchange
// (its final response head parsed) or why it failed, and how many response
// bytes came before a failure.
type upReply struct {
	x   *exchange
	got int
	err error
}

// deliver answers the request once; later answers are dropped.
func (r *upRequest) deliver(rep upReply) {
	if r.finished {
		return
	}
	r.finished = true
	rep.got = r.got
	r.rep = rep
}

// fail answers with a read failure, as the origin's response error.
func (r *upRequest) fail(err error) {
	if errors.Is(err, io.EOF) && r.got == 0 {
		err = io.ErrUnexpectedEOF
	}
	r.deliver(upReply{err: fmt.Errorf("response from %s: %w", r.conn.addr, err)})
}

// upSent is a request on the wire, waiting for its response.
type upSent struct{ r *upRequest }

// upBytes says the origin connection's buffer holds n response bytes not
// yet framed.
type upBytes struct {
	r *upRequest
	n int
}

// upHead is one complete response head, without its empty line.
type upHead struct {
	r    *upRequest
	head []byte
}

// upResponse is the final response of an exchange, parsed.
type upResponse struct {
	r *upRequest
	x *exchange
}

// wireUpstream adds the upstream stages to p.
func (h *handler) wireUpstream(p *actors.Pipeline) {
	jobs := actors.Source(p, actors.Spec{Name: "misses", Role: actors.RoleOther, Does: "exchanges the handler sends upstream"},
		h.upstreamJobs, 0)
	p.Calls("handler", "misses", "*proxy.upRequest") // the handler's Send: drawn, not a channel
	// The cache between the two sides: the handler looks up and stores
	// there; shared by every connection, it is state, not a stage.
	p.Store(actors.Spec{Name: "cache", Does: "RFC 9111 store, LRU by bytes"})
	p.Calls("handler", "cache", "lookup, store")
	sent := actors.Step(p, actors.Spec{Name: "origin writer", Role: actors.RoleWriter, Does: "writes the request to a pooled origin conn"},
		jobs, h.writeUpstream, nil, actors.Fused, 0)
	got := actors.Step(p, actors.Spec{Name: "origin reader", Role: actors.RoleReader, Does: "reads the response head's bytes"},
		sent, h.readUpstream, nil, actors.Fused, 0)
	heads := actors.Step(p, actors.Spec{Name: "response framer", Role: actors.RoleFramer, Does: "cuts the head; body bytes stay for the relay"},
		got, h.frameUpstream, nil, actors.Fused, 0)
	resps := actors.Step(p, actors.Spec{Name: "response parser", Role: actors.RoleParser, Does: "status line and fields; skips 1xx"},
		heads, h.parseUpstream, nil, actors.Fused, 0)
	actors.StepSink(p, actors.Spec{Name: "to handler", Role: actors.RoleOther, Does: "hands the head back; the writer relays the body"},
		resps, h.replyUpstream, nil, actors.Fused)
}

// upstream hands r to the upstream stages and returns their answer. They
// run in this goroutine (see the top of this file); the caller has set the
// connection's deadlines, so they cannot block past them, and if the
// pipeline stops, its interrupt closes the connection.
func (h *handler) upstream(r *upRequest) upReply {
	if h.upOut == nil {
		select {
		case h.upOut = <-h.upDoor:
		case <-h.stopped:
			return upReply{err: net.ErrClosed}
		}
	}
	h.upOut.Send(r)
	if !r.finished {
		return upReply{err: net.ErrClosed} // the pipeline is stopping
	}
	return r.rep
}

// upstreamJobs is the "misses" source: it gives its output to the handler,
// whose Send runs the fused upstream stages, then waits until the pipeline
// stops and the handler has returned, so that no Send can come after the
// runtime has ended the fused stages.
func (h *handler) upstreamJobs(ctx context.Context, out *actors.Output[*upRequest]) error {
	h.upDoor <- out
	<-ctx.Done()
	<-h.handled
	return nil
}

// writeUpstream is the origin writer: the request (or a body piece) goes
// straight to the origin connection, one write, no buffering.
func (h *handler) writeUpstream(_ context.Context, r *upRequest, out *actors.Output[upSent]) error {
	if len(r.data) > 0 {
		if _, err := r.conn.Write(r.data); err != nil {
			r.deliver(upReply{err: fmt.Errorf("%s %s: %w", r.op, r.conn.addr, err)})
			return nil
		}
	}
	if !r.read {
		r.deliver(upReply{})
		return nil
	}
	out.Send(upSent{r})
	return nil
}

// readUpstream is the origin reader: it reads into the connection's buffer
// until the framer has cut the final response head. Bytes already there
// (after a 1xx, say) are framed first.
func (h *handler) readUpstream(_ context.Context, s upSent, out *actors.Output[upBytes]) error {
	r, u := s.r, s.r.conn
	read := u.br.Buffered() == 0
	for !r.finished {
		if read {
			p, err := u.more()
			r.got = max(r.got, r.consumed+len(p))
			if err != nil {
				r.fail(err)
				return nil
			}
		}
		read = true
		if !out.Send(upBytes{r: r, n: u.br.Buffered()}) {
			return nil
		}
	}
	return nil
}

// more reads at least one more byte into u's buffer and returns what it
// holds; a buffer full of one unfinished line is a head too large.
func (u *upConn) more() ([]byte, error) {
	n := u.br.Buffered()
	if n == u.br.Size() {
		return nil, errHeadTooLarge
	}
	p, err := u.br.Peek(n + 1)
	if err == nil {
		p, _ = u.br.Peek(u.br.Buffered())
	}
	return p, err
}

// frameUpstream is the response framer: it takes the complete lines in the
// buffer into the head until the empty line that ends it, and sends the
// head on. It stops at the end of the final head: the body's bytes stay in
// the buffer for the writer's relay.
func (h *handler) frameUpstream(_ context.Context, b upBytes, out *actors.Output[upHead]) error {
	r, u := b.r, b.r.conn
	for !r.finished {
		window, _ := u.br.Peek(u.br.Buffered())
		i := bytes.IndexByte(window, '\n')
		if i < 0 {
			return nil // an unfinished line: the reader reads more
		}
		line := window[:i+1]
		if len(r.head)+len(line) > h.cfg.Limits.MaxHeaderBytes {
			r.fail(errHeadTooLarge)
			return nil
		}
		empty := len(line) == 1 || len(line) == 2 && line[0] == '\r'
		if !empty {
			r.head = append(r.head, line...)
		}
		u.br.Discard(i + 1)
		r.consumed += i + 1
		if empty && len(r.head) > 0 { // an empty line before a status line is skipped
			head := r.head
			r.head = nil
			if !out.Send(upHead{r: r, head: head}) {
				return nil
			}
		}
	}
	return nil
}

// parseUpstream is the response parser: the status line and fields of one
// head; a 1xx is skipped (the framer goes on to the final head).
func (h *handler) parseUpstream(_ context.Context, hd upHead, out *actors.Output[upResponse]) error {
	r := hd.r
	resp, err := wire.ParseResponseHead(hd.head, h.cfg.Limits, r.method)
	if err != nil {
		r.deliver(upReply{err: &upstreamError{status: wire.StatusBadGateway, err: fmt.Errorf("response from %s: %w", r.conn.addr, err)}})
		return nil
	}
	if resp.Informational() {
		return nil // 100 Continue and friends: wait for the final response
	}
	out.Send(upResponse{r: r, x: &exchange{conn: r.conn, resp: resp, requestTime: r.requestTime, responseTime: h.cfg.Now()}})
	return nil
}

// replyUpstream is the last upstream stage: the parsed head goes back to
// the waiting handler.
func (h *handler) replyUpstream(_ context.Context, v upResponse, _ bool) error {
	v.r.deliver(upReply{x: v.x})
	return nil
}
