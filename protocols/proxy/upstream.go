package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	wire "netstages/protocols/http"
)

// upConn is a connection to an origin with its read buffer, which holds the
// response head and any body bytes that came with it. Body bytes past the
// buffer are copied from the raw Conn, so splice still works.
type upConn struct {
	net.Conn
	br   *bufio.Reader
	addr string
}

func newUpConn(c net.Conn, addr string) *upConn {
	if u, ok := c.(*upConn); ok {
		return u
	}
	return &upConn{Conn: c, br: bufio.NewReaderSize(c, 4<<10), addr: addr}
}

// errHeadTooLarge is an origin response head over the limit.
var errHeadTooLarge = errors.New("response head too large")

// upstreamError is a failed exchange with an origin, with the status the
// client gets: 502, or 504 for a timeout.
type upstreamError struct {
	status int
	err    error
}

func (e *upstreamError) Error() string { return e.err.Error() }
func (e *upstreamError) Unwrap() error { return e.err }

func classify(err error) *upstreamError {
	var ue *upstreamError
	if errors.As(err, &ue) {
		return ue
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return &upstreamError{status: wire.StatusGatewayTimeout, err: err}
	}
	return &upstreamError{status: wire.StatusBadGateway, err: err}
}

// outbound is a request as it goes upstream.
type outbound struct {
	method string
	target Target
	header wire.Header // end-to-end fields to send, Host and Via excluded
	via    string
	body   []byte
	extra  wire.Header // fields the proxy adds (conditional headers)
	// streamed: the body follows the head separately; length is its
	// Content-Length, or -1 for chunked.
	streamed bool
	length   int64
}

// appendRequest writes the upstream request in origin-form with Host
// (RFC 9112 §3.2.1, RFC 9110 §7.2) and a Content-Length for any body.
func (o *outbound) appendRequest(dst []byte) []byte {
	dst = append(dst, o.method...)
	dst = append(dst, ' ')
	dst = append(dst, o.target.Path...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	dst = wire.AppendField(dst, "Host", o.target.Authority())
	dst = o.header.AppendTo(dst)
	dst = o.extra.AppendTo(dst)
	dst = wire.AppendField(dst, "Via", o.via)
	switch {
	case o.streamed && o.length < 0:
		dst = wire.AppendField(dst, "Transfer-Encoding", "chunked")
	case o.streamed:
		dst = wire.AppendIntField(dst, "Content-Length", o.length)
	case len(o.body) > 0 || o.method == "POST" || o.method == "PUT" || o.method == "PATCH":
		dst = wire.AppendIntField(dst, "Content-Length", int64(len(o.body)))
	}
	dst = append(dst, "\r\n"...)
	return append(dst, o.body...)
}

// exchange is one request/response with an origin up to the end of the
// final response head: connection from the pool, request written, 1xx
// skipped, head parsed. A reused connection the origin had closed is
// replaced once for idempotent methods.
type exchange struct {
	conn         *upConn
	resp         *wire.Response
	requestTime  time.Time
	responseTime time.Time
}

func (h *handler) roundTrip(ctx context.Context, o *outbound) (*exchange, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.UpstreamTimeout)
	defer cancel()
	c, reused, err := h.cfg.Pool.Get(ctx, o.target.Addr())
	if err != nil {
		return nil, classify(fmt.Errorf("connect to %s: %w", o.target.Addr(), err))
	}
	x, sent, err := h.try(ctx, newUpConn(c, o.target.Addr()), o)
	if err != nil && reused && sent == 0 && idempotent(o.method) {
		c, err = h.cfg.Pool.Dial(ctx, o.target.Addr())
		if err != nil {
			return nil, classify(fmt.Errorf("connect to %s: %w", o.target.Addr(), err))
		}
		x, _, err = h.try(ctx, newUpConn(c, o.target.Addr()), o)
	}
	if err != nil {
		return nil, classify(err)
	}
	return x, nil
}

// try runs the exchange on one connection; got is how many response bytes
// arrived before a failure (0: the origin answered nothing).
func (h *handler) try(ctx context.Context, u *upConn, o *outbound) (x *exchange, got int, err error) {
	h.track(u)
	ctx, cancel := context.WithTimeout(ctx, h.cfg.UpstreamTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { u.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	deadline, _ := ctx.Deadline()
	u.SetDeadline(deadline)
	return h.receive(u, o.method, h.cfg.Now(), o.appendRequest(make([]byte, 0, 512+len(o.body))))
}

// receive has the upstream stages write data (the request, or nothing if
// it has been sent) and read the final response head; got counts the
// response bytes that came. The caller has set u's deadline.
func (h *handler) receive(u *upConn, method string, requestTime time.Time, data []byte) (x *exchange, got int, err error) {
	rep := h.upstream(&upRequest{conn: u, data: data, op: "send to", read: true, method: method, requestTime: requestTime})
	if rep.err != nil {
		h.drop(u)
		return nil, rep.got, rep.err
	}
	u.SetDeadline(time.Time{})
	return rep.x, rep.got, nil
}

// send has the origin writer write data to u, without waiting for a response.
func (h *handler) send(u *upConn, data []byte, op string) error {
	return h.upstream(&upRequest{conn: u, data: data, op: op}).err
}

func idempotent(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE":
		return true
	}
	return false
}

// body relays one response body from an origin to the client: raw as it
// came (Content-Length or chunked) or de-chunked for an HTTP/1.0 client,
// optionally keeping a copy for the cache.
type body struct {
	h         *handler
	conn      *upConn
	resp      *wire.Response
	dechunk   bool                 // client cannot read chunked: send decoded bytes
	keep      bool                 // copy the body for the cache while it fits
	store     func(content []byte) // called with the whole body once it is complete
	release   func()               // ends collapsed forwarding for the key, if leading
	done      bool
	committed bool
	kept      []byte
	reusable  bool
}

// relay copies the body to w, the raw client connection. It returns the
// bytes written. After relay the upstream connection is back in the pool or
// closed, and the cache has the body if it was to be stored.
func (b *body) relay(w io.Writer) (n int64, err error) {
	defer b.finish()
	switch {
	case b.resp.Chunked:
		n, err = b.relayChunked(w)
	case b.resp.UntilClose:
		n, err = b.copy(w, -1)
	default:
		n, err = b.copy(w, b.resp.ContentLength)
	}
	b.done = err == nil
	return n, err
}

// copy relays limit bytes, or up to EOF when limit < 0.
func (b *body) copy(w io.Writer, limit int64) (int64, error) {
	var n int64
	// Bytes already read with the head go first.
	if k := b.conn.br.Buffered(); k > 0 {
		if limit >= 0 {
			k = int(min(int64(k), limit))
		}
		p, _ := b.conn.br.Peek(k)
		m, err := b.write(w, p, int64(k) == limit)
		b.conn.br.Discard(k)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	for limit < 0 || n < limit {
		if !b.keep && limit >= 0 {
			// Straight from socket to socket (splice on Linux), in slices so
			// that the idle deadline moves on.
			b.conn.SetReadDeadline(b.h.cfg.Now().Add(b.h.cfg.UpstreamTimeout))
			b.h.clock.writing()
			m, err := io.CopyN(w, b.conn.Conn, min(limit-n, 256<<10))
			n += m
			if err != nil {
				return n, truncated(err)
			}
			continue
		}
		buf := make([]byte, 32<<10)
		if limit >= 0 {
			buf = buf[:min(int64(len(buf)), limit-n)]
		}
		b.conn.SetReadDeadline(b.h.cfg.Now().Add(b.h.cfg.UpstreamTimeout))
		m, rerr := b.conn.Conn.Read(buf)
		if m > 0 {
			wm, err := b.write(w, buf[:m], limit >= 0 && n+int64(m) == limit)
			n += int64(wm)
			if err != nil {
				return n, err
			}
		}
		if rerr != nil {
			if limit < 0 && errors.Is(rerr, io.EOF) {
				return n, nil // close-delimited: EOF is the end
			}
			return n, truncated(rerr)
		}
	}
	b.reusable = !b.resp.Close
	return n, nil
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("origin body: %w", err)
}

// relayChunked relays a chunked body, finding its end with the decoder.
func (b *body) relayChunked(w io.Writer) (int64, error) {
	dec := wire.NewChunkedDecoder(wire.Limits{MaxBodyBytes: 1 << 62, MaxHeaderBytes: b.h.cfg.Limits.MaxHeaderBytes})
	buf := make([]byte, 32<<10)
	var n int64
	var decoded []byte
	extra := false // the origin sent bytes after the body
	for !dec.Done() {
		b.conn.SetReadDeadline(b.h.cfg.Now().Add(b.h.cfg.UpstreamTimeout))
		m, rerr := b.conn.br.Read(buf)
		if m > 0 {
			var used int
			var err error
			wantDecoded := b.dechunk || b.keep
			decoded, used, err = dec.Feed(decoded[:0], buf[:m], wantDecoded)
			if err != nil {
				return n, fmt.Errorf("origin chunked body: %w", err)
			}
			if used < m {
				// Bytes after the end of the body: relay the body whole,
				// but the connection is not fit for another exchange.
				m, extra = used, true
			}
			if b.keep {
				b.keepBytes(decoded)
			}
			if dec.Done() {
				b.commit()
			}
			out := buf[:m]
			if b.dechunk {
				out = decoded
			}
			wm, err := w.Write(out)
			n += int64(wm)
			if err != nil {
				return n, err
			}
		}
		if rerr != nil && !dec.Done() {
			return n, truncated(rerr)
		}
	}
	b.reusable = !b.resp.Close && !extra
	return n, nil
}

// write sends p to the client and keeps a copy when caching. Before the
// last bytes go out the entry is stored and the flight released, so a
// client that asks again as soon as it has the body finds it cached.
func (b *body) write(w io.Writer, p []byte, last bool) (int, error) {
	if b.keep {
		b.keepBytes(p)
	}
	if last {
		b.commit()
	}
	b.h.clock.writing()
	return w.Write(p)
}

// commit stores the complete body, if it is to be stored, and ends the
// collapsed flight; it runs once.
func (b *body) commit() {
	if b.committed {
		return
	}
	b.committed = true
	if b.keep && b.store != nil {
		if b.kept == nil {
			b.kept = []byte{}
		}
		b.store(b.kept)
	}
	if b.release != nil {
		b.release()
	}
}

func (b *body) keepBytes(p []byte) {
	if int64(len(b.kept)+len(p)) > b.h.cfg.Cache.MaxObject() {
		b.keep, b.kept = false, nil // too big: streamed through, not stored
		return
	}
	b.kept = append(b.kept, p...)
}

// finish returns the upstream connection, stores the body, and ends the
// collapsed flight.
func (b *body) finish() {
	b.h.untrack(b.conn)
	if b.conn.br.Buffered() > 0 {
		b.reusable = false // the origin sent more than one response's worth: do not trust it again
	}
	if b.done && b.reusable {
		b.conn.SetDeadline(time.Time{})
		b.h.cfg.Pool.Put(b.conn.addr, b.conn)
	} else {
		b.conn.Close()
	}
	if b.done {
		b.commit() // a close-delimited body ends only now
	} else if b.release != nil {
		b.release()
	}
}

// abort gives up on a body that will never be relayed.
func (b *body) abort() {
	b.done = false
	b.finish()
}

// framing appends the fields that frame a relayed body for the client and
// says whether the client connection must close to end it.
func framing(dst []byte, r *wire.Response, dechunk bool) (out []byte, closeAfter bool) {
	switch {
	case r.NoBody:
		if cl := r.Header.Get("Content-Length"); cl != "" && r.Status != 204 && !r.Informational() {
			dst = wire.AppendField(dst, "Content-Length", cl) // a HEAD or 304 tells the GET's length
		}
		return dst, false
	case r.Chunked && !dechunk:
		return wire.AppendField(dst, "Transfer-Encoding", "chunked"), false
	case r.Chunked || r.UntilClose:
		return dst, true // HTTP/1.0 client or close-delimited: the end is the close
	}
	return wire.AppendField(dst, "Content-Length", strconv.FormatInt(r.ContentLength, 10)), false
}

// forwardStreamed forwards a request whose body arrives in pieces after
// its head: on a fresh origin connection (a streamed body cannot be sent a
// second time if a kept-alive one turns out dead), head first, then each
// piece as the framer passes it on, then the response as usual.
func (h *handler) forwardStreamed(ctx context.Context, r Request) Response {
	h.flush()
	req := r.Frame.Req
	o := h.outbound(r)
	o.streamed, o.length = true, req.ContentLength
	// UpstreamTimeout bounds the connect, each write of the body and the
	// wait for the head, not the client's whole upload.
	dctx, cancelDial := context.WithTimeout(ctx, h.cfg.UpstreamTimeout)
	c, err := h.cfg.Pool.Dial(dctx, o.target.Addr())
	cancelDial()
	var u *upConn
	if err == nil {
		u = newUpConn(c, o.target.Addr())
		h.track(u)
		u.SetWriteDeadline(h.cfg.Now().Add(h.cfg.UpstreamTimeout))
		err = h.send(u, o.appendRequest(make([]byte, 0, 512)), "send to")
	} else {
		err = fmt.Errorf("connect to %s: %w", o.target.Addr(), err)
	}
	requestTime := h.cfg.Now()
	if err == nil && req.Header.HasToken("Expect", "100-continue") && req.ProtoAtLeast(1, 1) {
		// The client waits for this before it sends the body (curl does, for
		// uploads over 1 MiB); the origin's own 100 is skipped later. An
		// HTTP/1.0 client's expectation is ignored (RFC 9110 §10.1.1).
		h.queued = append(h.queued, Response{head: []byte("HTTP/1.1 100 Continue\r\n\r\n"), interim: true})
		h.flush()
	}
	// Every piece is taken from the input, sent or not, so that the next
	// request starts where this body ends.
	for {
		piece, ok := h.next()
		if !ok {
			if u != nil {
				h.drop(u)
			}
			return h.errorPage(r, wire.StatusBadRequest, "the request body ended early", true)
		}
		if !piece.IsBody {
			h.buf = append([]Request{piece}, h.buf...) // cannot happen: the framer sends the whole body first
			break
		}
		if err == nil {
			u.SetWriteDeadline(h.cfg.Now().Add(h.cfg.UpstreamTimeout))
			err = h.send(u, piece.Body, "send body to")
		}
		if piece.BodyEnd {
			break
		}
	}
	if err != nil {
		if u != nil {
			h.drop(u)
		}
		return h.upstreamFailed(r, err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.UpstreamTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { u.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	deadline, _ := ctx.Deadline()
	u.SetDeadline(deadline)
	x, _, err := h.receive(u, o.method, requestTime, nil)
	if err != nil {
		return h.upstreamFailed(r, err)
	}
	return h.relayResponse(r, x, req.Header, nil)
}
