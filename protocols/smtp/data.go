package smtp

import (
	"bytes"
	"fmt"
	"io"
)

// MaxLine is the longest text line SMTP carries, CRLF excluded (RFC 5321
// §4.5.3.1.6: 1000 octets with CRLF).
const MaxLine = 998

// MessageInfo is what CheckMessage learns about a message.
type MessageInfo struct {
	// EightBit is true when some byte is over 127 (BODY=8BITMIME is then
	// declared when the server offers it).
	EightBit bool
	// Size is the size on the wire before dot-stuffing, CRLF line endings.
	Size int64
	// CRLF is true when every line, the last included, already ends in
	// CRLF: the message can go on the wire as it is.
	CRLF bool
}

// CheckMessage checks a message before any command is sent, so a bad
// message never aborts a session in the middle of DATA: every line is at
// most MaxLine octets, there is no NUL and no CR outside a CRLF pair.
func CheckMessage(msg []byte) (MessageInfo, error) {
	info := MessageInfo{CRLF: true} // until a line ends otherwise
	line := 0
	err := eachLine(msg, func(text []byte, crlf bool) error {
		line++
		info.CRLF = info.CRLF && crlf
		if len(text) > MaxLine {
			return fmt.Errorf("%w: line %d has %d", ErrLineTooLong, line, len(text))
		}
		if bytes.IndexByte(text, 0) >= 0 || bytes.IndexByte(text, '\r') >= 0 {
			return fmt.Errorf("smtp: line %d: NUL or bare CR in the message", line)
		}
		if !info.EightBit {
			var or byte
			for _, c := range text {
				or |= c
			}
			info.EightBit = or&0x80 != 0
		}
		info.Size += int64(len(text)) + 2
		return nil
	})
	return info, err
}

// WriteData writes msg as DATA content (RFC 5321 §4.5.2): every line ends
// in CRLF, a line starting with '.' gets one more, and the content ends
// with "<CRLF>.<CRLF>". msg must have passed CheckMessage.
func WriteData(w io.Writer, msg []byte) (int64, error) {
	var n int64
	write := func(b []byte) error {
		m, err := w.Write(b)
		n += int64(m)
		return err
	}
	err := eachLine(msg, func(text []byte, _ bool) error {
		if len(text) > 0 && text[0] == '.' {
			if err := write([]byte(".")); err != nil {
				return err
			}
		}
		if err := write(text); err != nil {
			return err
		}
		return write([]byte("\r\n"))
	})
	if err != nil {
		return n, err
	}
	return n, write([]byte(".\r\n"))
}

// eachLine calls f with every line of msg, its LF or CRLF ending cut off,
// and whether that ending was CRLF;
// a last line without an ending counts too. It stops at f's first error.
func eachLine(msg []byte, f func(text []byte, crlf bool) error) error {
	for len(msg) > 0 {
		i := bytes.IndexByte(msg, '\n')
		text := msg
		if i >= 0 {
			text, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		trimmed := bytes.TrimSuffix(text, []byte("\r"))
		if err := f(trimmed, i >= 0 && len(trimmed) < len(text)); err != nil {
			return err
		}
	}
	return nil
}

// WriteChunk writes msg as the content of "BDAT n LAST" (RFC 3030): every
// line ends in CRLF and nothing else changes (no dot-stuffing, no final
// "."), so it writes exactly info.Size octets. msg must have passed
// CheckMessage, which gave info.
func WriteChunk(w io.Writer, msg []byte, info MessageInfo) (int64, error) {
	if info.CRLF {
		n, err := w.Write(msg)
		return int64(n), err
	}
	var n int64
	err := eachLine(msg, func(text []byte, _ bool) error {
		m, err := w.Write(text)
		n += int64(m)
		if err != nil {
			return err
		}
		m, err = w.Write([]byte("\r\n"))
		n += int64(m)
		return err
	})
	return n, err
}

// checkArg refuses anything that cannot go on one command line: CR, LF and
// other control characters (house rule 9), and the angle brackets that
// would end a path early.
func checkArg(what, s string) error {
	for _, c := range []byte(s) {
		if c < 0x20 || c == 0x7f || c == '<' || c == '>' {
			return fmt.Errorf("%w: %s %q", ErrBadLine, what, clip(s))
		}
	}
	return nil
}

func isASCII(s string) bool {
	for _, c := range []byte(s) {
		if c > 127 {
			return false
		}
	}
	return true
}
