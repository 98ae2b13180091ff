package echo

import (
	"context"
	"fmt"

	"netstages/actors"
)

// Reply is what the writer puts on the wire.
type Reply struct {
	// Data is the bytes to send.
	Data []byte
	// Close asks the writer to flush and end the connection after Data.
	Close bool
}

// Answer decides the reply to one request.
func Answer(r Request, maxLine int) Reply {
	if r.Line.TooLong {
		return Reply{Data: fmt.Appendf(nil, "error: line longer than %d bytes\n", maxLine), Close: true}
	}
	data := make([]byte, 0, len(r.Line.Text)+len(r.Line.EOL))
	data = append(append(data, r.Line.Text...), r.Line.EOL...)
	return Reply{Data: data}
}

// HandlerStage is the handler stage: one reply per request, in order.
func HandlerStage(maxLine int) actors.StepFunc[[]Request, []Reply] {
	return func(ctx context.Context, reqs []Request, out *actors.Output[[]Reply]) error {
		replies := make([]Reply, len(reqs))
		for i, r := range reqs {
			replies[i] = Answer(r, maxLine)
		}
		out.Send(replies)
		return nil
	}
}
