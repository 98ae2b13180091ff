package echo

import (
	"context"

	"netstages/actors"
)

// Request is one parsed line: what the handler acts on.
type Request struct {
	// Seq numbers requests on a connection from 1.
	Seq uint64
	// Line is the framed line.
	Line Line
}

// ParserStage is the parser stage. Echo has no syntax to check, so it only
// numbers the lines; in HTTP this is where the request line and headers are
// parsed. It is the same place in the chain either way.
func ParserStage() actors.StepFunc[[]Line, []Request] {
	var seq uint64
	return func(ctx context.Context, lines []Line, out *actors.Output[[]Request]) error {
		reqs := make([]Request, len(lines))
		for i, l := range lines {
			seq++
			reqs[i] = Request{Seq: seq, Line: l}
		}
		out.Send(reqs)
		return nil
	}
}
