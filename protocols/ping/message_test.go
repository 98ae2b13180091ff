package ping_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/protocols/ping"
)

func TestAppendRequestFormatAndPadding(t *testing.T) {
	is := is.New(t)
	at := time.Unix(1764064538, 123456789)
	is.Equal(string(ping.AppendRequest(nil, 3, at, false, 0)), "Ping 3 1764064538.123456") // microseconds, truncated
	is.Equal(string(ping.AppendRequest(nil, 1, time.Unix(5, 7000), true, 0)), "Ping 1 5.000007 heartbeat")
	padded := ping.AppendRequest(nil, 3, at, false, 40)
	is.Equal(len(padded), 40)                                                    // padded to -s
	is.True(strings.HasPrefix(string(padded), "Ping 3 1764064538.123456 xxxxx")) // space then x's
	is.Equal(len(ping.AppendRequest(nil, 3, at, false, 25)), 25)                 // one byte short: a lone space
	is.Equal(ping.RequestLen(3, false), len("Ping 3 1000000000.000000"))         // the smallest -s
}

func TestParseReplyAcceptsBothCases(t *testing.T) {
	is := is.New(t)
	for _, in := range []string{"PING 7 1764064538.123456", "Ping 7 08:35:38", "ping 7 x", "PING 7 1.0 XXXXXXXX"} {
		m, err := ping.ParseReply([]byte(in))
		is.NoErr(err)              // accepted
		is.Equal(m.Seq, uint64(7)) // seq
	}
	m, err := ping.ParseReply(ping.UpperASCII(ping.AppendRequest(nil, 9, time.Unix(1, 0), true, 60)))
	is.NoErr(err)
	is.True(m.Heartbeat)         // upper-cased heartbeat word still recognised
	is.Equal(m.Time, "1.000000") // time field kept as it is
}

func TestParseReplyRejects(t *testing.T) {
	is := is.New(t)
	for _, in := range []string{"", "Pong 1 2", "Ping", "Ping ", "Ping x 1", "Ping 0 1", "Ping -1 1", "Ping +1 1",
		"Ping 123456789012345678901 1", "Ping 18446744073709551616 1", "PINGS 1 2"} {
		_, err := ping.ParseReply([]byte(in))
		is.True(err != nil) // rejected
		is.True(errors.Is(err, ping.ErrNotPing) || errors.Is(err, ping.ErrBadSeq))
	}
}

func TestParseRequestNeedsOnlyThePrefix(t *testing.T) {
	is := is.New(t)
	m, ok, err := ping.ParseRequest([]byte("Ping 1 08:35:38")) // the course's client
	is.NoErr(err)
	is.True(ok)
	is.Equal(m.Time, "08:35:38")
	_, ok, err = ping.ParseRequest([]byte("Ping whatever follows"))
	is.NoErr(err) // still echoed
	is.True(!ok)  // but not parsed
	_, _, err = ping.ParseRequest([]byte("PING 1 2"))
	is.True(errors.Is(err, ping.ErrNotPing)) // requests must begin with "Ping " exactly
	_, _, err = ping.ParseRequest([]byte("hello"))
	is.True(errors.Is(err, ping.ErrNotPing))
}

func TestUpperASCIIKeepsOtherBytes(t *testing.T) {
	is := is.New(t)
	in := []byte("Ping 1 é\x00z")
	out := ping.UpperASCII(in)
	is.Equal(string(out), "PING 1 é\x00Z")
	is.Equal(string(in), "Ping 1 é\x00z") // input untouched
}

// FuzzParseReply checks that the parser never panics, that what it accepts
// is well formed, and that every request we format parses back.
func FuzzParseReply(f *testing.F) {
	f.Add([]byte("PING 1 08:35:38"), uint64(1), int64(1764064538123456789), false, uint16(0))
	f.Add([]byte("Ping 18446744073709551615 1.5 heartbeat xxx"), uint64(1<<63), int64(0), true, uint16(80))
	f.Add([]byte("ping  1"), uint64(42), int64(-5), false, uint16(25))
	f.Fuzz(func(t *testing.T, data []byte, seq uint64, nanos int64, hb bool, size uint16) {
		if m, err := ping.ParseReply(data); err == nil {
			if m.Seq == 0 || !bytes.EqualFold(data[:5], []byte("ping ")) {
				t.Fatalf("accepted %q as seq %d", data, m.Seq)
			}
		}
		ping.ParseRequest(data)
		if seq == 0 {
			return
		}
		req := ping.AppendRequest(nil, seq, time.Unix(0, nanos), hb, int(size))
		if len(req) < int(size) {
			t.Fatalf("request %q shorter than -s %d", req, size)
		}
		for _, wire := range [][]byte{req, ping.UpperASCII(req)} {
			m, err := ping.ParseReply(wire)
			if err != nil || m.Seq != seq || m.Heartbeat != hb {
				t.Fatalf("%q parsed as %+v, %v", wire, m, err)
			}
		}
	})
}
