package smtp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"netstages/actors"
	"netstages/actors/connio"
)

// Limits on what the server may send.
const (
	// MaxReplyLine is the longest reply line accepted, CRLF included. RFC
	// 5321 §4.5.3.1.5 sets 512; servers send longer EHLO lines, so the limit
	// is generous but finite.
	MaxReplyLine = 2048
	// MaxReplyLines is the most lines one multi-line reply may have.
	MaxReplyLines = 128
)

// RawReply is one complete reply as framed: its lines without line endings.
// Err is set instead when the server sent something that cannot be framed.
type RawReply struct {
	Lines []string
	Err   error
}

// ErrReplyTooLong is reported when a reply line or a multi-line reply goes
// past MaxReplyLine or MaxReplyLines.
var ErrReplyTooLong = errors.New("smtp: reply too long")

// Framer groups reply lines into replies: a line whose fourth byte is '-'
// continues the reply (RFC 5321 §4.2.1). It keeps partial lines and partial
// replies across Feed calls, so a reply split over several reads (a
// multi-line greeting in two packets) comes out whole.
type Framer struct {
	partial []byte   // start of a line whose end has not arrived yet
	lines   []string // lines of the reply being assembled
	failed  bool
}

// NewFramer returns an empty reply framer.
func NewFramer() *Framer { return &Framer{} }

// Feed appends every reply completed by data to batch. After an error
// reply, Feed returns nothing more.
func (f *Framer) Feed(batch []RawReply, data []byte) []RawReply {
	for !f.failed && len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			f.partial = append(f.partial, data...)
			if len(f.partial) > MaxReplyLine {
				return f.fail(batch, fmt.Errorf("%w: line over %d bytes", ErrReplyTooLong, MaxReplyLine))
			}
			return batch
		}
		if len(f.partial)+i+1 > MaxReplyLine {
			return f.fail(batch, fmt.Errorf("%w: line over %d bytes", ErrReplyTooLong, MaxReplyLine))
		}
		line := string(append(f.partial, data[:i]...))
		f.partial = f.partial[:0]
		data = data[i+1:]
		line = strings.TrimSuffix(line, "\r")
		f.lines = append(f.lines, line)
		if len(line) > 3 && line[3] == '-' {
			if len(f.lines) >= MaxReplyLines {
				return f.fail(batch, fmt.Errorf("%w: more than %d lines", ErrReplyTooLong, MaxReplyLines))
			}
			continue
		}
		batch = append(batch, RawReply{Lines: f.lines})
		f.lines = nil
	}
	return batch
}

// Buffered reports how many bytes of an unfinished reply the framer holds.
func (f *Framer) Buffered() int {
	n := len(f.partial)
	for _, l := range f.lines {
		n += len(l) + 2
	}
	return n
}

func (f *Framer) fail(batch []RawReply, err error) []RawReply {
	f.failed, f.partial, f.lines = true, nil, nil
	return append(batch, RawReply{Err: err})
}

// FramerStage is the framer f (from NewFramer) as a step stage: each chunk in, one batch of
// the replies it completed out. At the end of input in the middle of a
// reply it sends an error reply, so the session knows the reply was cut
// short. After a framing error the stage finishes.
func FramerStage(f *Framer) (actors.StepFunc[connio.Chunk, []RawReply], actors.EndFunc[[]RawReply]) {
	step := func(ctx context.Context, chunk connio.Chunk, out *actors.Output[[]RawReply]) error {
		batch := f.Feed(nil, chunk.Data)
		chunk.Release()
		if len(batch) > 0 && !out.Send(batch) {
			return actors.ErrFinished
		}
		if f.failed {
			return actors.ErrFinished
		}
		return nil
	}
	end := func(ctx context.Context, out *actors.Output[[]RawReply]) error {
		if f.Buffered() > 0 && !f.failed {
			out.Send([]RawReply{{Err: errors.New("smtp: connection closed in the middle of a reply")}})
		}
		return nil
	}
	return step, end
}

// EnhancedCode is an RFC 3463 enhanced status code, e.g. {5, 1, 1}. The zero
// value means the server sent none.
type EnhancedCode [3]int

// String formats the code as "5.1.1", or "" for none.
func (e EnhancedCode) String() string {
	if e == (EnhancedCode{}) {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", e[0], e[1], e[2])
}

// Reply is one parsed server reply.
type Reply struct {
	// Code is the three-digit reply code.
	Code int
	// Enhanced is the enhanced status code of the first line, if any.
	Enhanced EnhancedCode
	// Lines is the text of each line after the code (and after the enhanced
	// code, when there is one).
	Lines []string
	// Err is set when the reply could not be framed or parsed; the session
	// ends with it.
	Err error
}

// Text is the reply's lines joined with newlines.
func (r Reply) Text() string { return strings.Join(r.Lines, "\n") }

// Positive reports a 2xx or 3xx reply.
func (r Reply) Positive() bool { return r.Code >= 200 && r.Code < 400 }

// ErrBadReply wraps every reply that is not valid SMTP.
var ErrBadReply = errors.New("smtp: malformed reply")

// ParseReply parses a framed reply: every line starts with the same three
// digits (first digit 2–5), then '-' (continuation), ' ' or nothing. An
// enhanced status code (class.subject.detail, class matching the reply's
// first digit) is taken from the start of each line's text.
func ParseReply(raw RawReply) (Reply, error) {
	if raw.Err != nil {
		return Reply{}, raw.Err
	}
	if len(raw.Lines) == 0 {
		return Reply{}, fmt.Errorf("%w: empty", ErrBadReply)
	}
	r := Reply{Lines: make([]string, 0, len(raw.Lines))}
	for i, line := range raw.Lines {
		code, text, err := splitLine(line, i == len(raw.Lines)-1)
		if err != nil {
			return Reply{}, err
		}
		if i == 0 {
			r.Code = code
		} else if code != r.Code {
			return Reply{}, fmt.Errorf("%w: codes %d and %d in one reply", ErrBadReply, r.Code, code)
		}
		if enh, rest, ok := parseEnhanced(text, code/100); ok {
			if i == 0 {
				r.Enhanced = enh
			}
			text = rest
		}
		r.Lines = append(r.Lines, text)
	}
	return r, nil
}

// splitLine checks one line's code and separator and returns its text.
func splitLine(line string, last bool) (int, string, error) {
	if len(line) < 3 {
		return 0, "", fmt.Errorf("%w: %q", ErrBadReply, clip(line))
	}
	for _, c := range []byte(line[:3]) {
		if c < '0' || c > '9' {
			return 0, "", fmt.Errorf("%w: %q does not start with a code", ErrBadReply, clip(line))
		}
	}
	code, _ := strconv.Atoi(line[:3])
	if code < 200 || code > 599 || line[1] > '5' {
		return 0, "", fmt.Errorf("%w: code %d out of range", ErrBadReply, code)
	}
	if len(line) == 3 {
		return code, "", nil
	}
	switch {
	case line[3] == ' ' && last, line[3] == '-' && !last:
		return code, line[4:], nil
	default:
		return 0, "", fmt.Errorf("%w: %q has a bad separator", ErrBadReply, clip(line))
	}
}

// parseEnhanced reads "c.s.d " from the start of text.
func parseEnhanced(text string, class int) (EnhancedCode, string, bool) {
	word, rest, _ := strings.Cut(text, " ")
	parts := strings.Split(word, ".")
	if len(parts) != 3 {
		return EnhancedCode{}, text, false
	}
	var e EnhancedCode
	for i, p := range parts {
		if len(p) == 0 || len(p) > 3 {
			return EnhancedCode{}, text, false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return EnhancedCode{}, text, false
		}
		e[i] = n
	}
	if e[0] != class || (class != 2 && class != 4 && class != 5) {
		return EnhancedCode{}, text, false
	}
	return e, rest, true
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// ParserStage is the parser as a step stage: each framed reply becomes a
// Reply; a malformed one becomes a Reply with Err set, after which the
// stage finishes. trace, if not nil, sees every reply line.
func ParserStage(trace func(string)) actors.StepFunc[[]RawReply, []Reply] {
	return func(ctx context.Context, raws []RawReply, out *actors.Output[[]Reply]) error {
		replies := make([]Reply, 0, len(raws))
		failed := false
		for _, raw := range raws {
			if trace != nil {
				for _, l := range raw.Lines {
					trace("<- " + l)
				}
			}
			r, err := ParseReply(raw)
			if err != nil {
				r, failed = Reply{Err: err}, true
			}
			replies = append(replies, r)
			if failed {
				break
			}
		}
		if !out.Send(replies) || failed {
			return actors.ErrFinished
		}
		return nil
	}
}
