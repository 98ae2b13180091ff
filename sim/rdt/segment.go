package rdt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// Kind is a segment's type.
type Kind uint8

// Segment kinds.
const (
	KindSYN    Kind = 1 // open: carries the sender's window
	KindSYNACK Kind = 2 // accept
	KindDATA   Kind = 3 // payload bytes, one sequence number
	KindACK    Kind = 4 // acknowledgement only
	KindFIN    Kind = 5 // end of this direction's bytes, one sequence number
	KindRST    Kind = 6 // abort
)

func (k Kind) String() string {
	switch k {
	case KindSYN:
		return "SYN"
	case KindSYNACK:
		return "SYNACK"
	case KindDATA:
		return "DATA"
	case KindACK:
		return "ACK"
	case KindFIN:
		return "FIN"
	case KindRST:
		return "RST"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// flagSACK says Seq of an ACK names the one packet it acknowledges
// (Selective Repeat); Ack is always cumulative.
const flagSACK = 1

// HeaderLen is the size of a segment header:
//
//	0      1      2             4             8             12            16            20            24
//	| kind | flag | checksum    | seq         | ack         | window      | tsval       | tsecr       | payload…
//
// Sequence numbers count packets (DATA and FIN take one each), starting at
// 0. Ack is cumulative: every packet below it arrived. Window is the
// receiver's free buffer in bytes. TSval is the sender's clock when it sent
// the segment and TSecr echoes the TSval of the data packet this end
// received last (TCP's timestamps, RFC 7323 §3: an ACK so carries an
// unambiguous RTT sample even for a retransmitted packet). The checksum is
// the Internet checksum (RFC 1071) of the whole segment with the checksum
// field zero; it catches every single-bit error.
const HeaderLen = 24

// Segment is a decoded segment.
type Segment struct {
	Kind   Kind
	SACK   bool // Seq is a selective acknowledgement
	Seq    uint32
	Ack    uint32
	Window uint32
	// TSval is the sending end's clock in µs since it started, plus one
	// (0 means none); TSecr echoes a TSval of the peer's (0: none yet).
	TSval, TSecr uint32
	Payload      []byte

	datagram []byte // the buffer Decode parsed, which Payload aliases
}

func (s Segment) String() string {
	return fmt.Sprintf("%s seq=%d ack=%d win=%d len=%d", s.Kind, s.Seq, s.Ack, s.Window, len(s.Payload))
}

// Append encodes s after b, checksum included.
func (s Segment) Append(b []byte) []byte {
	start := len(b)
	var flags byte
	if s.SACK {
		flags |= flagSACK
	}
	b = append(b, byte(s.Kind), flags, 0, 0)
	b = binary.BigEndian.AppendUint32(b, s.Seq)
	b = binary.BigEndian.AppendUint32(b, s.Ack)
	b = binary.BigEndian.AppendUint32(b, s.Window)
	b = binary.BigEndian.AppendUint32(b, s.TSval)
	b = binary.BigEndian.AppendUint32(b, s.TSecr)
	b = append(b, s.Payload...)
	binary.BigEndian.PutUint16(b[start+2:], checksum(b[start:]))
	return b
}

// Errors of Decode.
var (
	ErrShort    = errors.New("rdt: segment shorter than its header")
	ErrChecksum = errors.New("rdt: bad checksum")
	ErrKind     = errors.New("rdt: unknown segment kind")
)

// Decode parses and verifies a segment. The payload aliases b.
func Decode(b []byte) (Segment, error) {
	if len(b) < HeaderLen {
		return Segment{}, ErrShort
	}
	if checksum(b) != 0 {
		return Segment{}, ErrChecksum
	}
	s := Segment{
		Kind:   Kind(b[0]),
		SACK:   b[1]&flagSACK != 0,
		Seq:    binary.BigEndian.Uint32(b[4:]),
		Ack:    binary.BigEndian.Uint32(b[8:]),
		Window: binary.BigEndian.Uint32(b[12:]),
		TSval:  binary.BigEndian.Uint32(b[16:]),
		TSecr:  binary.BigEndian.Uint32(b[20:]),

		datagram: b,
	}
	if s.Kind < KindSYN || s.Kind > KindRST {
		return Segment{}, fmt.Errorf("%w %d", ErrKind, b[0])
	}
	if len(b) > HeaderLen {
		s.Payload = b[HeaderLen:]
	}
	return s, nil
}

// checksum is the RFC 1071 Internet checksum: the ones' complement of the
// ones' complement sum of 16-bit words. Over a segment that carries its
// checksum it is 0.
func checksum(b []byte) uint16 {
	// RFC 1071 sums 16-bit big-endian words in ones' complement. The sum is
	// independent of the word size and of byte order (RFC 1071, 2(A) and
	// 2(B)): summing little-endian words gives the byte-swapped sum. So this
	// loads 64-bit little-endian words (plain loads here), adds their 32-bit
	// halves into four independent 64-bit accumulators (no carry chain: each
	// would take 2^31 words to overflow), folds, and swaps at the end.
	var s0, s1, s2, s3 uint64
	for len(b) >= 32 {
		x0 := binary.LittleEndian.Uint64(b)
		x1 := binary.LittleEndian.Uint64(b[8:])
		x2 := binary.LittleEndian.Uint64(b[16:])
		x3 := binary.LittleEndian.Uint64(b[24:])
		s0 += x0&0xffffffff + x0>>32
		s1 += x1&0xffffffff + x1>>32
		s2 += x2&0xffffffff + x2>>32
		s3 += x3&0xffffffff + x3>>32
		b = b[32:]
	}
	sum := s0 + s1 + s2 + s3
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		sum += x&0xffffffff + x>>32
		b = b[8:]
	}
	for len(b) >= 2 {
		sum += uint64(b[0]) | uint64(b[1])<<8
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) // the low byte of a little-endian word
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^bits.ReverseBytes16(uint16(sum))
}
