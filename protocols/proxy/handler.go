package proxy

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"netstages/actors"
	wire "netstages/protocols/http"
	"netstages/protocols/proxy/cache"
	"netstages/transport"
)

// handler is one client connection's state shared by its stages: the
// origin connections in use (closed when the pipeline is interrupted) and
// the bodies handed to the writer but not yet relayed.
type handler struct {
	cfg  Config
	conn net.Conn

	mu        sync.Mutex
	live      map[*upConn]struct{}
	pending   map[*body]struct{}
	tunnel    *upConn
	closing   bool
	lingering atomic.Bool // the writer is draining before the close
	clock     *deadlines  // the client connection's read and write deadlines

	// The handler stage's output and the responses it has not sent yet:
	// hits are batched, but whatever is queued goes out before the handler
	// blocks on an origin or on another request's flight, which may be
	// waiting for a body this connection's writer has yet to relay.
	out    *actors.Output[[]Response]
	queued []Response
	in     *actors.Input[[]Request]
	buf    []Request // the rest of the input batch being handled

	// The upstream side's door (upside.go): the "misses" stage's output,
	// handed over once on upDoor; handled is closed when the handler stage
	// returns; stopped is the pipeline's done channel.
	upDoor  chan *actors.Output[*upRequest]
	upOut   *actors.Output[*upRequest]
	handled chan struct{}
	stopped <-chan struct{}
}

func newHandler(conn net.Conn, cfg Config) *handler {
	h := &handler{cfg: cfg.WithDefaults(), conn: conn, live: map[*upConn]struct{}{}, pending: map[*body]struct{}{},
		upDoor: make(chan *actors.Output[*upRequest], 1), handled: make(chan struct{})}
	h.clock = &deadlines{h: h}
	return h
}

func (h *handler) track(u *upConn) {
	h.mu.Lock()
	h.live[u] = struct{}{}
	h.mu.Unlock()
}

func (h *handler) untrack(u *upConn) {
	h.mu.Lock()
	delete(h.live, u)
	h.mu.Unlock()
}

// drop forgets and closes an origin connection that failed.
func (h *handler) drop(u *upConn) {
	h.untrack(u)
	u.Close()
}

// closeAll is the interrupt: every origin connection in use is closed, so
// a stage blocked on one returns.
func (h *handler) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for u := range h.live {
		u.Close()
	}
}

func (h *handler) addPending(b *body) {
	h.mu.Lock()
	h.pending[b] = struct{}{}
	h.mu.Unlock()
}

func (h *handler) removePending(b *body) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.pending[b]
	delete(h.pending, b)
	return ok
}

// abortPending runs after the pipeline: bodies never relayed give back
// their connections and end their collapsed flights.
func (h *handler) abortPending() {
	h.mu.Lock()
	left := make([]*body, 0, len(h.pending))
	for b := range h.pending {
		left = append(left, b)
	}
	h.mu.Unlock()
	for _, b := range left {
		b.abort()
	}
	h.closeAll()
}

// Response is what the writer puts on the wire for one request.
type Response struct {
	head   []byte  // status line and fields, with the final CRLF
	body   []byte  // an in-memory body (cache hit, error page)
	up     *body   // a body to relay from an origin
	tunnel *upConn // after the head, relay the tunnel until it closes
	close  bool    // end the connection after this response
	// interim marks a 1xx sent ahead of the final response: not logged.
	interim bool

	// For the access log.
	method, target, proto string
	status                int
	start                 time.Time
}

// handle is the handler stage: one response per request, in order.
func (h *handler) handle(ctx context.Context, in *actors.Input[[]Request], out *actors.Output[[]Response]) error {
	defer close(h.handled) // the upstream door may close now
	defer func() {
		if h.tunnel != nil {
			if cw, ok := h.tunnel.Conn.(transport.CloseWriter); ok {
				cw.CloseWrite() // the client half-closed: so does the tunnel
			}
		}
	}()
	h.in, h.out, h.stopped = in, out, ctx.Done()
	for {
		r, ok := h.next()
		switch {
		case !ok:
			return nil
		case r.IsRaw:
			if err := h.tunnelBytes(r); err != nil {
				return nil // the origin side is gone; the writer's copy ends too
			}
			continue
		case r.IsBody, h.closing:
			continue // the body of a refused request, or input after a closing answer: dropped
		}
		resp := h.serve(ctx, r)
		h.queued = append(h.queued, resp)
		h.closing = resp.close
	}
}

// next returns the next input item. Whatever has been answered is sent to
// the writer before waiting for more input: a batch in, a batch out.
func (h *handler) next() (Request, bool) {
	for len(h.buf) == 0 {
		if !h.flush() {
			return Request{}, false
		}
		batch, ok := h.in.Recv()
		if !ok {
			return Request{}, false
		}
		h.buf = batch
	}
	r := h.buf[0]
	h.buf[0] = Request{}
	h.buf = h.buf[1:]
	return r, true
}

// flush sends the queued responses to the writer; false means the
// pipeline is stopping (their bodies are then given up).
func (h *handler) flush() bool {
	if len(h.queued) == 0 {
		return true
	}
	q := h.queued
	h.queued = nil
	if !h.out.Send(q) {
		abortRest(q)
		return false
	}
	return true
}

// tunnelBytes writes client bytes into an open tunnel.
func (h *handler) tunnelBytes(r Request) error {
	defer r.Raw.Release()
	if h.tunnel == nil || h.closing {
		return nil // CONNECT refused: the connection is closing anyway
	}
	_, err := h.tunnel.Write(r.Raw.Data)
	return err
}

// serve answers one request.
func (h *handler) serve(ctx context.Context, r Request) Response {
	if r.Err != nil {
		return h.errorPage(r, r.Err.Status, r.Err.Reason, true)
	}
	req := r.Frame.Req
	switch {
	case req.Method == "CONNECT":
		return h.connect(ctx, r)
	case r.Streamed:
		return h.forwardStreamed(ctx, r)
	}
	c := h.cfg.Cache
	if c == nil || req.Method != "GET" && req.Method != "HEAD" {
		return h.forward(ctx, r, req.Header, nil)
	}
	key := r.Target.Key()
	reqStd := req.Header // the cache reads fields through cache.Fields: no conversion
	d := c.Decide(req.Method, key, reqStd)
	if d.Action == cache.Forward && req.Method == "GET" && !c.Passing(key) {
		wait, release := c.Collapse(key)
		if wait == nil {
			return h.forward(ctx, r, reqStd, release)
		}
		h.cfg.Stats.Collapsed.Add(1)
		h.flush() // the flight may be this connection's own earlier request
		timer := time.NewTimer(h.cfg.UpstreamTimeout)
		select {
		case <-wait:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
		d = c.Decide(req.Method, key, reqStd)
	}
	switch d.Action {
	case cache.Serve:
		h.cfg.Stats.Hits.Add(1)
		return h.hit(r, d.Entry, d.Age, "HIT")
	case cache.GatewayTimeout:
		return h.errorPage(r, wire.StatusGatewayTimeout, "only-if-cached: not in the cache", false)
	case cache.Revalidate:
		return h.revalidate(ctx, r, d.Entry, reqStd)
	}
	return h.forward(ctx, r, reqStd, nil)
}

// outbound prepares the upstream request: the client's end-to-end fields
// without Host, Via and Expect (the body is sent at once).
func (h *handler) outbound(r Request, drop ...string) *outbound {
	req := r.Frame.Req
	hdr := EndToEnd(req.Header)
	for _, name := range append(drop, "Host", "Via", "Expect") {
		hdr.Del(name)
	}
	return &outbound{method: req.Method, target: r.Target, header: hdr, via: viaValue(req.Header, h.cfg.Name), body: r.Frame.Body}
}

// forward sends the request to the origin and answers with its response,
// streaming the body; a storable GET response is kept while it streams.
// release, if set, ends the collapsed flight this request leads.
func (h *handler) forward(ctx context.Context, r Request, reqStd cache.Fields, release func()) Response {
	h.flush()
	x, err := h.roundTrip(ctx, h.outbound(r))
	if err != nil {
		if release != nil {
			release()
		}
		return h.upstreamFailed(r, err)
	}
	return h.relayResponse(r, x, reqStd, release)
}

// relayResponse answers with an origin's response (a miss, or a full
// response to a revalidation).
func (h *handler) relayResponse(r Request, x *exchange, reqStd cache.Fields, release func()) Response {
	req, resp := r.Frame.Req, x.resp
	key := r.Target.Key()
	c := h.cfg.Cache
	if c != nil && unsafeMethod(req.Method) && resp.Status < 400 {
		c.Invalidate(key) // RFC 9111 §4.4
	}
	if req.Method == "GET" || req.Method == "HEAD" {
		h.cfg.Stats.Misses.Add(1)
	} else {
		h.cfg.Stats.Forwarded.Add(1)
	}
	fields := EndToEnd(resp.Header)
	via := viaValue(resp.Header, h.cfg.Name)
	fields.Del("Via")
	if !fields.Has("Date") {
		fields.Add("Date", x.responseTime.UTC().Format(wire.TimeFormat)) // RFC 9110 §6.6.1: a proxy adds one
	}
	var store func([]byte)
	if c != nil && req.Method == "GET" && resp.ContentLength <= c.MaxObject() {
		respStd := stdHeader(fields)
		respStd.Set("Via", via)
		reqCC := cache.ParseCacheControl(reqStd.Values("Cache-Control"))
		respCC := cache.ParseCacheControl(respStd.Values("Cache-Control"))
		if ok, _ := cache.Storable(req.Method, reqStd, reqCC, resp.Status, respStd, respCC); ok {
			store = func(content []byte) {
				e := cache.NewEntry(key, resp.Status, resp.Reason, respStd, content, reqStd, x.requestTime, x.responseTime)
				e.Head = entryHead(e)
				c.Store(e)
			}
		} else {
			c.Invalidate(key) // a newer response that may not be stored outdates the stored one
		}
	}
	if c != nil && req.Method == "GET" && store == nil {
		c.Pass(key) // not storable: the next misses need not wait for each other
		if release != nil {
			release() // and those waiting now go on at once
			release = nil
		}
	}
	dechunk := !req.ProtoAtLeast(1, 1)
	head := statusLine(resp.Status, resp.Reason)
	head = fields.AppendTo(head)
	head = wire.AppendField(head, "Via", via)
	head = wire.AppendField(head, "X-Cache", "MISS")
	head, closeAfter := framing(head, resp, dechunk)
	out := Response{close: closeAfter || req.Close}
	b := &body{h: h, conn: x.conn, resp: resp, dechunk: dechunk, keep: store != nil, store: store, release: release}
	if resp.NoBody {
		b.done, b.reusable = true, !resp.Close
		b.finish() // nothing to relay: connection back, 204 stored
	} else {
		h.addPending(b)
		out.up = b
	}
	out.head = h.endHead(head, req, out.close)
	return h.logged(out, r, resp.Status)
}

func unsafeMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return false
	}
	return true
}

// revalidate asks the origin whether a stale entry is still good
// (RFC 9111 §4.3.1); a 304 refreshes it (§4.3.4) and it answers, any other
// response answers instead (§4.3.3) and replaces it if storable.
func (h *handler) revalidate(ctx context.Context, r Request, e *cache.Entry, reqStd cache.Fields) Response {
	o := h.outbound(r, "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range")
	inm, ims := e.Validators()
	if inm != "" {
		o.extra.Add("If-None-Match", inm)
	}
	if ims != "" {
		o.extra.Add("If-Modified-Since", ims)
	}
	h.cfg.Stats.Revalidations.Add(1)
	h.flush()
	x, err := h.roundTrip(ctx, o)
	if err != nil {
		return h.upstreamFailed(r, err)
	}
	if x.resp.Status != wire.StatusNotModified {
		return h.relayResponse(r, x, reqStd, nil)
	}
	fields := EndToEnd(x.resp.Header)
	fields.Del("Via")
	if !fields.Has("Date") {
		fields.Add("Date", x.responseTime.UTC().Format(wire.TimeFormat)) // else the old Date would age the refreshed entry
	}
	n := e.Refreshed(stdHeader(fields), reqStd, x.requestTime, x.responseTime)
	n.Head = entryHead(n)
	h.cfg.Cache.Store(n)
	b := &body{h: h, conn: x.conn, resp: x.resp, done: true, reusable: !x.resp.Close}
	b.finish()
	h.cfg.Stats.Revalidated.Add(1)
	return h.hit(r, n, n.Age(h.cfg.Now()), "REVALIDATED")
}

// hit answers from a stored entry. A client's own If-None-Match that
// matches the entry gets 304 (RFC 9110 §13.1.2, weak comparison).
func (h *handler) hit(r Request, e *cache.Entry, age time.Duration, how string) Response {
	req := r.Frame.Req
	status := e.Status
	head := make([]byte, 0, len(e.Head)+96)
	body := e.Body
	if inm := req.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, e.Header.Get("ETag")) {
		status = wire.StatusNotModified
		head = append(statusLine(status, "Not Modified"), e.Head[strings.IndexByte(string(e.Head), '\n')+1:]...)
		body = nil
	} else {
		head = append(head, e.Head...)
	}
	head = wire.AppendField(head, "Age", cache.AgeHeader(age))
	head = wire.AppendField(head, "X-Cache", how)
	out := Response{close: req.Close}
	out.head = h.endHead(head, req, out.close)
	if req.Method != "HEAD" {
		out.body = body
	}
	return h.logged(out, r, status)
}

// etagMatches: If-None-Match is "*" or a list holding tag, weakly compared.
func etagMatches(list, tag string) bool {
	if tag == "" {
		return false
	}
	weak := func(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "W/") }
	for item := range strings.SplitSeq(list, ",") {
		if strings.TrimSpace(item) == "*" || weak(item) == weak(tag) {
			return true
		}
	}
	return false
}

// entryHead formats a stored response's head once, at store time: status
// line, stored fields in a fixed order, Content-Length of the stored body.
// Age and X-Cache are added per hit.
func entryHead(e *cache.Entry) []byte {
	head := statusLine(e.Status, e.Reason)
	names := make([]string, 0, len(e.Header))
	for name := range e.Header {
		switch name {
		case "Age", "X-Cache", "Content-Length", "Transfer-Encoding", "Connection":
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, v := range e.Header[name] {
			head = wire.AppendField(head, name, v)
		}
	}
	if e.Status != 204 && e.Status != 304 {
		head = wire.AppendIntField(head, "Content-Length", int64(len(e.Body)))
	}
	return head
}

// statusLine is "HTTP/1.1 code reason\r\n", the origin's reason kept.
func statusLine(code int, reason string) []byte {
	if reason == "" {
		reason = wire.StatusText(code)
	}
	b := make([]byte, 0, 256)
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, reason...)
	return append(b, "\r\n"...)
}

// endHead adds the connection fields for the client and the empty line.
func (h *handler) endHead(head []byte, req *wire.Request, closeAfter bool) []byte {
	switch {
	case closeAfter:
		head = wire.AppendField(head, "Connection", "close")
	case req != nil && !req.ProtoAtLeast(1, 1):
		head = wire.AppendField(head, "Connection", "keep-alive")
	}
	return append(head, "\r\n"...)
}

// connect opens a tunnel (RFC 9110 §9.3.6): dial, 200, then bytes both ways.
func (h *handler) connect(ctx context.Context, r Request) Response {
	dctx, cancel := context.WithTimeout(ctx, h.cfg.UpstreamTimeout)
	c, err := h.cfg.Pool.Dial(dctx, r.ConnectAddr)
	cancel()
	if err != nil {
		// The framer has gone raw: nothing more can be read as requests.
		return h.upstreamFailedClose(r, classify(fmt.Errorf("connect to %s: %w", r.ConnectAddr, err)), true)
	}
	u := newUpConn(c, r.ConnectAddr)
	h.track(u)
	h.tunnel = u
	h.cfg.Stats.Tunnels.Add(1)
	head := append(statusLine(200, "Connection established"), "\r\n"...)
	return h.logged(Response{head: head, tunnel: u}, r, 200)
}

// upstreamFailed answers 502 or 504 for a failed origin exchange.
func (h *handler) upstreamFailed(r Request, err error) Response {
	return h.upstreamFailedClose(r, err, false)
}

// upstreamFailedClose is upstreamFailed, closing the connection after it
// when closeAfter.
func (h *handler) upstreamFailedClose(r Request, err error, closeAfter bool) Response {
	ue := classify(err)
	h.cfg.Stats.UpstreamErrors.Add(1)
	return h.errorPage(r, ue.status, ue.Error(), closeAfter)
}

// errorPage is a short text answer made by the proxy itself.
func (h *handler) errorPage(r Request, status int, reason string, closeAfter bool) Response {
	if status < 500 {
		h.cfg.Stats.ClientErrors.Add(1)
	}
	req := r.Frame.Req
	text := fmt.Sprintf("%d %s: %s\n", status, wire.StatusText(status), reason)
	head := statusLine(status, "")
	head = wire.AppendField(head, "Content-Type", "text/plain; charset=utf-8")
	head = wire.AppendIntField(head, "Content-Length", int64(len(text)))
	head = wire.AppendField(head, "X-Cache", "MISS")
	closeAfter = closeAfter || req == nil || req.Close
	out := Response{close: closeAfter}
	out.head = h.endHead(head, req, closeAfter)
	if req == nil || req.Method != "HEAD" {
		out.body = []byte(text)
	}
	return h.logged(out, r, status)
}

// logged fills the access-log fields.
func (h *handler) logged(out Response, r Request, status int) Response {
	out.status, out.start = status, r.Start
	if req := r.Frame.Req; req != nil {
		out.method, out.target, out.proto = req.Method, req.Target, req.Proto()
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
