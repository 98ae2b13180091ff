package rdt

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/matryer/is"
)

func TestRTOFollowsRFC6298(t *testing.T) {
	is := is.New(t)
	e := newRTO(Config{InitialRTO: time.Second, MinRTO: 200 * time.Millisecond, MaxRTO: 60 * time.Second})
	is.Equal(e.rto, time.Second) // before any sample
	e.sample(100 * time.Millisecond)
	is.Equal(e.srtt, 100*time.Millisecond) // SRTT = R
	is.Equal(e.rttvar, 50*time.Millisecond)
	is.Equal(e.rto, 300*time.Millisecond) // SRTT + 4 RTTVAR
	e.sample(200 * time.Millisecond)
	is.Equal(e.rttvar, (3*50*time.Millisecond+100*time.Millisecond)/4) // 3/4 RTTVAR + 1/4 |SRTT-R|
	is.Equal(e.srtt, (7*100*time.Millisecond+200*time.Millisecond)/8)
	before := e.rto
	e.backoff()
	is.Equal(e.rto, 2*before) // backoff doubles
	for range 20 {
		e.backoff()
	}
	is.Equal(e.rto, 60*time.Second) // clamped at MaxRTO
	e.sample(time.Millisecond)
	e.sample(time.Millisecond)
	e.sample(time.Millisecond)
	is.True(e.rto >= 200*time.Millisecond) // clamped at MinRTO
}

func TestSegmentRoundTripAndChecksumCatchesEveryBitFlip(t *testing.T) {
	is := is.New(t)
	s := Segment{Kind: KindDATA, SACK: true, Seq: 7, Ack: 9, Window: 1 << 20, TSval: 123456, TSecr: 654321, Payload: []byte("hello, rdt")}
	b := s.Append(nil)
	got, err := Decode(b)
	is.NoErr(err) // decode
	is.Equal(got.String(), s.String())
	is.True(bytes.Equal(got.Payload, s.Payload))
	for bit := range len(b) * 8 {
		c := bytes.Clone(b)
		c[bit/8] ^= 1 << (bit % 8)
		_, err := Decode(c)
		is.True(err != nil) // every single-bit error is caught
	}
	_, err = Decode(b[:5])
	is.Equal(err, ErrShort)
}

func FuzzDecode(f *testing.F) {
	f.Add(Segment{Kind: KindSYN, Window: 100}.Append(nil))
	f.Add(Segment{Kind: KindDATA, Seq: 1, Payload: []byte("x")}.Append(nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Decode(s.Append(nil))
		if err != nil || again.String() != s.String() || !bytes.Equal(again.Payload, s.Payload) {
			t.Fatalf("round trip: %v %v", s, err)
		}
	})
}

// checksum16 is RFC 1071 as written: 16-bit words, folded at the end.
func checksum16(b []byte) uint16 {
	var sum uint32
	for ; len(b) >= 2; b = b[2:] {
		sum += uint32(b[0])<<8 | uint32(b[1])
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

func TestChecksumEqualsSixteenBitReference(t *testing.T) {
	is := is.New(t)
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 2000 {
		b := make([]byte, n%1500)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if n%7 == 0 { // long runs of 0xff make every carry fold
			for i := range b {
				b[i] = 0xff
			}
		}
		is.Equal(checksum(b), checksum16(b)) // 64-bit little-endian words give the same sum
	}
	is.Equal(checksum(nil), uint16(0xffff)) // empty: the sum is 0
}

func TestTimestampClockWraps(t *testing.T) {
	is := is.New(t)
	start := time.Unix(0, 0)
	sent := tsClock(start.Add((1<<32-10)*time.Microsecond), start)
	now := tsClock(start.Add((1<<32+5)*time.Microsecond), start)
	is.Equal(now-sent, uint32(15)) // modulo 2^32: a 15 µs RTT across the wrap
}
