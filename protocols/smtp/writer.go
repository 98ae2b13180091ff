package smtp

import (
	"context"
	"fmt"
	"net"
	"time"

	"netstages/actors"
	"netstages/actors/connio"
)

// Command is one thing the session puts on the wire: a command line, or a
// message's content after 354.
type Command struct {
	// Line is the command without CRLF, already checked for CR and LF.
	Line string
	// Trace is what the dialogue trace shows instead of Line (credentials
	// redacted); "" shows Line.
	Trace string
	// Data, when not nil, is message content: written dot-stuffed with CRLF
	// line endings and the final ".", and Line is ignored.
	Data []byte
	// Chunk, when not nil, is message content sent by BDAT: Line (the BDAT
	// command) is written first, then the content with CRLF line endings,
	// nothing else changed (RFC 3030).
	Chunk *Chunk
}

// Chunk is one message's content for "BDAT n LAST".
type Chunk struct {
	Msg  []byte
	Info MessageInfo
}

// WriterStage is the writer as a step sink: it buffers commands and
// flushes when no more are waiting (more is false), so a pipelined MAIL,
// RCPT… DATA group, or message content followed by the next message's
// envelope, costs one write(2). end flushes what is left.
func WriterStage(w *connio.FlushingWriter, trace func(string)) (actors.SinkStepFunc[[]Command], func(context.Context) error) {
	flush := func(ctx context.Context) error {
		if err := w.Flush(); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
	step := func(ctx context.Context, cmds []Command, more bool) error {
		for _, c := range cmds {
			if err := writeCommand(w, c, trace); err != nil {
				return err
			}
		}
		if more {
			return nil
		}
		return flush(ctx)
	}
	return step, flush
}

func writeCommand(w *connio.FlushingWriter, c Command, trace func(string)) error {
	if c.Data != nil {
		n, err := WriteData(w, c.Data)
		if trace != nil {
			trace(fmt.Sprintf("-> [%d octets of message content, dot-stuffed]", n-3))
			trace("-> .")
		}
		if err != nil {
			return fmt.Errorf("write data: %w", err)
		}
		return nil
	}
	if trace != nil {
		if c.Trace != "" {
			trace("-> " + c.Trace)
		} else {
			trace("-> " + c.Line)
		}
	}
	if _, err := w.Write([]byte(c.Line)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if _, err := w.Write([]byte("\r\n")); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if c.Chunk == nil {
		return nil
	}
	n, err := WriteChunk(w, c.Chunk.Msg, c.Chunk.Info)
	if trace != nil {
		trace(fmt.Sprintf("-> [%d octets of message content]", n))
	}
	if err != nil {
		return fmt.Errorf("write chunk: %w", err)
	}
	return nil
}

// deadlineWriter gives every write to the connection its own deadline: RFC
// 5321's data block timeout bounds each send, not the whole message.
type deadlineWriter struct {
	conn    net.Conn
	timeout time.Duration
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.conn.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.conn.Write(p)
}
