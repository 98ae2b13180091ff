package proxy

import (
	"context"

	"netstages/actors"
	"netstages/actors/connio"
	wire "netstages/protocols/http"
)

// Inbound is what the framer passes on: a framed request, or, once a
// CONNECT has been framed, raw tunnel bytes.
type Inbound struct {
	// Frame is a request (head and whole body) or a framing error.
	Frame wire.Frame
	// Raw holds client bytes for a tunnel; whoever takes it releases it.
	Raw connio.Chunk
	// IsRaw says Raw is set and Frame is not.
	IsRaw bool
}

// FrameRequests is the framer stage: it cuts the client's bytes into
// requests with the shared HTTP framer, bodies kept (they are forwarded),
// every request found in one read sent as one batch. After a CONNECT it
// stops framing: later bytes belong to the tunnel and go on raw. Bytes that
// arrive with the CONNECT head, before the proxy has answered it, make the
// CONNECT a 400 (a client must wait for the 200).
func FrameRequests(lim wire.Limits) actors.StageFunc[connio.Chunk, []Inbound] {
	return func(ctx context.Context, in *actors.Input[connio.Chunk], out *actors.Output[[]Inbound]) error {
		f := wire.NewRequestFramer(lim, true)
		raw := false
		for chunk := range in.All() {
			if raw {
				if !out.Send([]Inbound{{Raw: chunk, IsRaw: true}}) {
					chunk.Release()
					return nil
				}
				continue
			}
			frames := f.Feed(nil, chunk.Data)
			chunk.Release()
			batch := make([]Inbound, 0, len(frames))
			for i, fr := range frames {
				if fr.Err == nil && fr.Req.Method == "CONNECT" {
					if i != len(frames)-1 || f.Partial() {
						fr.Err = &wire.Error{Status: wire.StatusBadRequest, Reason: "bytes after CONNECT before the tunnel was established"}
					}
					batch = append(batch, Inbound{Frame: fr})
					raw = true
					break
				}
				batch = append(batch, Inbound{Frame: fr})
			}
			if len(batch) > 0 && !out.Send(batch) {
				return nil
			}
			if f.Failed() {
				return nil // the stream cannot be trusted past an error
			}
		}
		return nil
	}
}
