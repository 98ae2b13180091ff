package echo

import (
	"context"
	"fmt"

	"netstages/actors"
	"netstages/actors/connio"
)

// WriterStage is the writer stage. It buffers replies and flushes when no
// more are waiting (more == false), so a burst of pipelined lines costs one
// write(2). After a reply that closes the connection it flushes and
// finishes, which ends the pipeline. end flushes what is left at EOF.
func WriterStage(w *connio.FlushingWriter) (actors.SinkStepFunc[[]Reply], func(context.Context) error) {
	step := func(ctx context.Context, replies []Reply, more bool) error {
		for _, r := range replies {
			if _, err := w.Write(r.Data); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			if r.Close {
				if err := flush(w); err != nil {
					return err
				}
				return actors.ErrFinished
			}
		}
		if !more {
			return flush(w)
		}
		return nil
	}
	end := func(ctx context.Context) error { return flush(w) }
	return step, end
}

func flush(w *connio.FlushingWriter) error {
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
