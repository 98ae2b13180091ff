package ping

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Wire limits.
const (
	// MaxDatagram is the largest UDP payload over IPv4 (65,535 − 8 − 20).
	MaxDatagram = 65507
	// maxSeqDigits bounds the sequence field: a uint64 has at most 20 digits.
	maxSeqDigits = 20
	// heartbeatWord marks a heartbeat request (ping -heartbeat).
	heartbeatWord = "heartbeat"
)

// Errors of the parser.
var (
	// ErrNotPing is a datagram that does not begin with "Ping " (or, for a
	// reply, "PING " in any case).
	ErrNotPing = errors.New("ping: not a ping message")
	// ErrBadSeq is a ping message whose sequence field is not a positive
	// decimal number.
	ErrBadSeq = errors.New("ping: bad sequence number")
)

// Message is one parsed ping datagram: "Ping <seq> <time>[ heartbeat][ padding]".
type Message struct {
	// Seq numbers the probes of one client from 1.
	Seq uint64
	// Time is the sender's time field, opaque: the course's client sends
	// "08:35:38", ours seconds since the epoch. It is never used for RTT.
	Time string
	// Heartbeat marks a probe sent by ping -heartbeat.
	Heartbeat bool
}

// AppendRequest appends the request for seq sent at now to b, padded with a
// space and 'x's to size bytes when it is shorter:
//
//	Ping 3 1764064538.123456[ heartbeat][ xxxx…]
func AppendRequest(b []byte, seq uint64, now time.Time, heartbeat bool, size int) []byte {
	start := len(b)
	b = append(b, "Ping "...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ' ')
	b = AppendEpoch(b, now)
	if heartbeat {
		b = append(b, " "+heartbeatWord...)
	}
	if pad := size - (len(b) - start); pad > 0 {
		b = append(b, ' ')
		for range pad - 1 {
			b = append(b, 'x')
		}
	}
	return b
}

// AppendEpoch appends t as seconds since the epoch with six decimals.
func AppendEpoch(b []byte, t time.Time) []byte {
	ns := t.UnixNano()
	b = strconv.AppendInt(b, ns/1e9, 10)
	frac := strconv.AppendInt(nil, ns%1e9/1e3+1e6, 10) // "1" + six digits
	return append(append(b, '.'), frac[1:]...)
}

// RequestLen is the length of an unpadded request for seq: the smallest -s.
func RequestLen(seq uint64, heartbeat bool) int {
	return len(AppendRequest(nil, seq, time.Unix(1e9, 0), heartbeat, 0))
}

// IsRequest reports whether b is a request pingd echoes: it begins with
// "Ping " exactly, whatever follows.
func IsRequest(b []byte) bool {
	return len(b) >= 5 && string(b[:5]) == "Ping "
}

// ParseRequest parses a request. Only the "Ping " prefix is required for an
// echo; the rest is parsed as far as it goes (ok false when the sequence
// field is missing or bad), which is all heartbeat tracking needs.
func ParseRequest(b []byte) (m Message, ok bool, err error) {
	if !IsRequest(b) {
		return Message{}, false, ErrNotPing
	}
	m, err = parseFields(b[5:])
	return m, err == nil, nil
}

// ParseReply parses an echoed reply: "PING " or "Ping " (any case) followed
// by the sequence number and the time field.
func ParseReply(b []byte) (Message, error) {
	if len(b) < 5 || !equalFoldASCII(b[:5], "ping ") {
		return Message{}, ErrNotPing
	}
	return parseFields(b[5:])
}

// parseFields parses "<seq> <time>[ heartbeat][ padding]" with its words
// separated by single spaces; the time field is kept as it is.
func parseFields(b []byte) (Message, error) {
	seqField, rest := cutSpace(b)
	if len(seqField) == 0 || len(seqField) > maxSeqDigits {
		return Message{}, fmt.Errorf("%w: %q", ErrBadSeq, clip(seqField))
	}
	seq, err := strconv.ParseUint(string(seqField), 10, 64)
	if err != nil || seq == 0 || seqField[0] == '+' {
		return Message{}, fmt.Errorf("%w: %q", ErrBadSeq, clip(seqField))
	}
	timeField, rest := cutSpace(rest)
	m := Message{Seq: seq, Time: string(timeField)}
	word, _ := cutSpace(rest)
	m.Heartbeat = equalFoldASCII(word, heartbeatWord)
	return m, nil
}

func cutSpace(b []byte) (word, rest []byte) {
	for i, c := range b {
		if c == ' ' {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

func equalFoldASCII(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// UpperASCII returns a copy of b with ASCII letters upper-cased, as Python's
// bytes.upper() in the textbook server does; other bytes are kept.
func UpperASCII(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// upperInPlace upper-cases the ASCII letters of b.
func upperInPlace(b []byte) {
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
}

// clip shortens b for an error message.
func clip(b []byte) []byte {
	if len(b) > 24 {
		return b[:24]
	}
	return b
}
