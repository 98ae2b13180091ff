package echo

import (
	"bytes"
	"context"

	"netstages/actors"
	"netstages/actors/connio"
)

// Line is one framed line.
type Line struct {
	// Text is the line without its ending.
	Text []byte
	// EOL is the ending as received: "\n", "\r\n", or "" for a last line
	// cut short by EOF.
	EOL string
	// TooLong marks a line that went past the limit; Text is empty.
	TooLong bool
}

// Framer cuts a byte stream into lines. It is the framer stage's state, kept
// apart from channels so that it can be tested and fuzzed on its own.
type Framer struct {
	maxLine int
	partial []byte // start of a line whose end has not arrived yet
	failed  bool
}

// NewFramer returns a framer for lines of at most maxLine bytes, ending
// included.
func NewFramer(maxLine int) *Framer { return &Framer{maxLine: maxLine} }

// Feed appends the complete lines found in data to batch. Bytes after the
// last LF are kept for the next Feed. After a too-long line, Feed returns
// nothing more.
func (f *Framer) Feed(batch []Line, data []byte) []Line {
	for !f.failed && len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			f.partial = append(f.partial, data...)
			if len(f.partial) > f.maxLine {
				return f.fail(batch)
			}
			return batch
		}
		if len(f.partial)+i+1 > f.maxLine {
			return f.fail(batch)
		}
		// The line gets its own bytes: the chunk goes back to the pool.
		var line []byte
		if f.partial == nil {
			line = bytes.Clone(data[:i+1])
		} else {
			line = append(f.partial, data[:i+1]...)
		}
		f.partial = nil
		batch = append(batch, splitEOL(line))
		data = data[i+1:]
	}
	return batch
}

// End returns the last, unterminated line, if any; call it at EOF.
func (f *Framer) End(batch []Line) []Line {
	if f.failed || len(f.partial) == 0 {
		return batch
	}
	batch = append(batch, Line{Text: f.partial})
	f.partial = nil
	return batch
}

func (f *Framer) fail(batch []Line) []Line {
	f.failed, f.partial = true, nil
	return append(batch, Line{TooLong: true})
}

// Failed reports whether the framer met a too-long line and stopped.
func (f *Framer) Failed() bool { return f.failed }

// splitEOL separates a line from its LF or CRLF ending.
func splitEOL(line []byte) Line {
	if bytes.HasSuffix(line, []byte("\r\n")) {
		return Line{Text: line[:len(line)-2], EOL: "\r\n"}
	}
	return Line{Text: line[:len(line)-1], EOL: "\n"}
}

// FramerStage is the framer stage: chunks in, one batch of lines out per
// chunk that completed at least one line. Its state is a Framer, so it can
// run in its own goroutine or fused into the reader's.
func FramerStage(maxLine int) (actors.StepFunc[connio.Chunk, []Line], actors.EndFunc[[]Line]) {
	f := NewFramer(maxLine)
	step := func(ctx context.Context, chunk connio.Chunk, out *actors.Output[[]Line]) error {
		if f.Failed() { // after a too-long line the rest of the stream is not read
			chunk.Release()
			return actors.ErrFinished
		}
		batch := f.Feed(nil, chunk.Data)
		chunk.Release()
		if len(batch) > 0 && !out.Send(batch) {
			return nil
		}
		if f.Failed() {
			return actors.ErrFinished
		}
		return nil
	}
	end := func(ctx context.Context, out *actors.Output[[]Line]) error {
		if last := f.End(nil); len(last) > 0 {
			out.Send(last)
		}
		return nil
	}
	return step, end
}
