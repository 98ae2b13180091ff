package echo

import (
	"context"
	"fmt"

	"netstages/actors"
	"netstages/actors/connio"
)

// WriteReplies is the writer stage. It buffers replies and flushes when no
// more are waiting, so a burst of pipelined lines costs one write(2); after
// a reply that closes the connection it flushes and returns, which ends the
// pipeline.
func WriteReplies(w *connio.FlushingWriter) actors.SinkFunc[[]Reply] {
	return func(ctx context.Context, in *actors.Input[[]Reply]) error {
		for replies := range in.All() {
			for _, r := range replies {
				if _, err := w.Write(r.Data); err != nil {
					return fmt.Errorf("write: %w", err)
				}
				if r.Close {
					return flush(w)
				}
			}
			if in.Pending() == 0 {
				if err := flush(w); err != nil {
					return err
				}
			}
		}
		return flush(w)
	}
}

func flush(w *connio.FlushingWriter) error {
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
