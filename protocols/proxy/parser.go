package proxy

import (
	"context"
	"time"

	"netstages/actors"
	"netstages/actors/connio"
	wire "netstages/protocols/http"
)

// Request is a request checked and ready for the handler.
type Request struct {
	// Frame is the framed request (head and body).
	Frame wire.Frame
	// Target is where a forwarded request goes.
	Target Target
	// ConnectAddr is "host:port" for a CONNECT.
	ConnectAddr string
	// Err, if set, is the answer: the request is refused.
	Err *wire.Error
	// Streamed says the body follows in Body items (see Inbound).
	Streamed bool
	// Body, IsBody and BodyEnd carry a piece of a streamed body through.
	Body            []byte
	IsBody, BodyEnd bool
	// Raw and IsRaw carry tunnel bytes through.
	Raw   connio.Chunk
	IsRaw bool
	// Start is when the request was parsed, for the access log.
	Start time.Time
}

// parse is the parser stage: it refuses clients outside -allow (403),
// reads the target (absolute-form or path-form; authority-form for
// CONNECT) and refuses CONNECT ports outside -connect-ports (403).
func (h *handler) parse(ctx context.Context, in *actors.Input[[]Inbound], out *actors.Output[[]Request]) error {
	permitted := h.cfg.Permit(h.conn.RemoteAddr())
	for batch := range in.All() {
		reqs := make([]Request, len(batch))
		for i, it := range batch {
			reqs[i] = h.check(it, permitted)
		}
		if !out.Send(reqs) {
			for _, r := range reqs {
				r.Raw.Release()
			}
			return nil
		}
	}
	return nil
}

func (h *handler) check(it Inbound, permitted bool) Request {
	switch {
	case it.IsRaw:
		return Request{Raw: it.Raw, IsRaw: true}
	case it.IsBody:
		return Request{Body: it.Body, IsBody: true, BodyEnd: it.BodyEnd}
	}
	r := Request{Frame: it.Frame, Streamed: it.Streamed, Start: h.cfg.Now()}
	req := it.Frame.Req
	switch {
	case it.Frame.Err != nil:
		r.Err = it.Frame.Err
	case !permitted:
		r.Err = &wire.Error{Status: wire.StatusForbidden, Reason: "client " + h.conn.RemoteAddr().String() + " is not allowed to use this proxy"}
	case req.Method == "CONNECT":
		host, port, err := ParseAuthority(req.Target, -1)
		switch {
		case err != nil:
			r.Err = &wire.Error{Status: wire.StatusBadRequest, Reason: "CONNECT " + err.Error()}
		case !h.cfg.ConnectPorts[port]:
			r.Err = &wire.Error{Status: wire.StatusForbidden, Reason: "CONNECT to port " + itoa(port) + " is not allowed"}
		default:
			r.ConnectAddr = Target{Host: host, Port: port}.Addr()
		}
	default:
		t, err := ParseTarget(req.Target)
		if err != nil {
			r.Err = &wire.Error{Status: wire.StatusBadRequest, Reason: err.Error()}
		} else {
			r.Target = t
		}
	}
	return r
}
