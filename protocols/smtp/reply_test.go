package smtp_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"

	"netstages/protocols/smtp"
)

func TestParseReply(t *testing.T) {
	cases := []struct {
		in    []string
		code  int
		enh   string
		lines []string
		bad   bool
	}{
		{[]string{"250 2.1.0 Sender OK"}, 250, "2.1.0", []string{"Sender OK"}, false},
		{[]string{"250-mx.test", "250-PIPELINING", "250 SIZE 100"}, 250, "", []string{"mx.test", "PIPELINING", "SIZE 100"}, false},
		{[]string{"550 5.1.1 <x@y>: no such user"}, 550, "5.1.1", []string{"<x@y>: no such user"}, false},
		{[]string{"354"}, 354, "", []string{""}, false},
		{[]string{"451 4.3.0"}, 451, "4.3.0", []string{""}, false},
		{[]string{"250 4.3.0 class does not match"}, 250, "", []string{"4.3.0 class does not match"}, false},
		{[]string{"220 1.2.3.4 an address, not a code"}, 220, "", []string{"1.2.3.4 an address, not a code"}, false},
		{[]string{"25O oops"}, 0, "", nil, true},
		{[]string{"199 too low"}, 0, "", nil, true},
		{[]string{"650 too high"}, 0, "", nil, true},
		{[]string{"250-a", "251 b"}, 0, "", nil, true},
		{[]string{"250xyz"}, 0, "", nil, true},
		{[]string{"25"}, 0, "", nil, true},
		{[]string{"250 a", "250 b"}, 0, "", nil, true}, // a final line before the end
	}
	for _, c := range cases {
		is := is.New(t)
		r, err := smtp.ParseReply(smtp.RawReply{Lines: c.in})
		if c.bad {
			is.True(errors.Is(err, smtp.ErrBadReply)) // malformed
			continue
		}
		is.NoErr(err) // well formed
		is.Equal(r.Code, c.code)
		is.Equal(r.Enhanced.String(), c.enh)
		is.Equal(r.Lines, c.lines)
	}
}

func TestFramerJoinsRepliesAcrossReads(t *testing.T) {
	is := is.New(t)
	f := smtp.NewFramer()
	out := f.Feed(nil, []byte("220-mx.test first\r\n"))
	is.Equal(len(out), 0) // a continuation line does not end the reply
	out = f.Feed(out, []byte("220 sec"))
	is.Equal(len(out), 0)
	out = f.Feed(out, []byte("ond\r\n250 ok\n"))
	is.Equal(len(out), 2) // both complete now, bare LF accepted
	is.Equal(out[0].Lines, []string{"220-mx.test first", "220 second"})
	is.Equal(out[1].Lines, []string{"250 ok"})
	is.Equal(f.Buffered(), 0)
}

func TestFramerLimits(t *testing.T) {
	is := is.New(t)
	out := smtp.NewFramer().Feed(nil, []byte(strings.Repeat("x", smtp.MaxReplyLine+1)))
	is.True(errors.Is(out[0].Err, smtp.ErrReplyTooLong)) // an endless line
	out = smtp.NewFramer().Feed(nil, []byte(strings.Repeat("250-x\r\n", smtp.MaxReplyLines+1)))
	is.True(errors.Is(out[0].Err, smtp.ErrReplyTooLong)) // an endless reply
}

func TestParseExtensions(t *testing.T) {
	is := is.New(t)
	ext := smtp.ParseExtensions([]string{"mx.test greets you", "PIPELINING", "size 35882577", "AUTH PLAIN login XOAUTH2",
		"8BITMIME", "STARTTLS", "ENHANCEDSTATUSCODES", "SMTPUTF8", "X-WEIRD_ONE", "AUTH=LOGIN"})
	is.Equal(ext.Domain, "mx.test")
	is.Equal(ext.Size, int64(35882577))
	is.Equal(ext.Auth, []string{"PLAIN", "LOGIN", "XOAUTH2"})
	for _, kw := range []string{"PIPELINING", "8bitmime", "STARTTLS", "ENHANCEDSTATUSCODES", "SMTPUTF8"} {
		is.True(ext.Has(kw)) // every announced keyword, any case
	}
	is.True(!ext.Has("X-WEIRD_ONE")) // not a keyword: ignored, not an error
	is.True(ext.HasAuth("login"))
}

func TestWriteDataStuffsDots(t *testing.T) {
	is := is.New(t)
	var b bytes.Buffer
	n, err := smtp.WriteData(&b, []byte(".\n..x\r\nplain\n.end"))
	is.NoErr(err)
	is.Equal(b.String(), "..\r\n...x\r\nplain\r\n..end\r\n.\r\n")
	is.Equal(n, int64(b.Len()))
}

func TestCheckMessage(t *testing.T) {
	is := is.New(t)
	info, err := smtp.CheckMessage([]byte("a\nb\r\nc"))
	is.NoErr(err)
	is.Equal(info.Size, int64(9)) // three lines with CRLF
	is.True(!info.EightBit)
	info, err = smtp.CheckMessage([]byte("caf\xc3\xa9\r\n"))
	is.NoErr(err)
	is.True(info.EightBit)
	_, err = smtp.CheckMessage([]byte("a\rb\r\n"))
	is.True(err != nil) // bare CR
	_, err = smtp.CheckMessage([]byte("a\x00b\r\n"))
	is.True(err != nil) // NUL
}

func TestWriteChunkNormalisesLineEndingsOnly(t *testing.T) {
	is := is.New(t)
	for _, msg := range []string{".\n..x\r\nplain\n.end", "a\r\nb\r\n", "", "x"} {
		info, err := smtp.CheckMessage([]byte(msg))
		is.NoErr(err)
		var b bytes.Buffer
		n, err := smtp.WriteChunk(&b, []byte(msg), info)
		is.NoErr(err)
		is.Equal(n, info.Size)                                                       // exactly the size BDAT announced
		is.Equal(int64(b.Len()), info.Size)                                          // and that is what was written
		is.True(!strings.Contains(strings.ReplaceAll(b.String(), "\r\n", ""), "\n")) // CRLF only
	}
	var b bytes.Buffer
	info, _ := smtp.CheckMessage([]byte(".\n..x\r\nplain\n.end"))
	_, _ = smtp.WriteChunk(&b, []byte(".\n..x\r\nplain\n.end"), info)
	is.Equal(b.String(), ".\r\n..x\r\nplain\r\n.end\r\n") // no dot-stuffing, no final "."
	info, _ = smtp.CheckMessage([]byte("a\r\nb\r\n"))
	is.True(info.CRLF) // already canonical: written as it is
}

// FuzzMessageChunk checks, for any message CheckMessage accepts, that BDAT
// content is exactly the announced size and DATA content, once un-stuffed,
// is the same bytes.
func FuzzMessageChunk(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\n.hi\n"))
	f.Add([]byte("a\nb\r\nc"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		info, err := smtp.CheckMessage(msg)
		if err != nil {
			return
		}
		var chunk, data bytes.Buffer
		n, err := smtp.WriteChunk(&chunk, msg, info)
		if err != nil || n != info.Size || int64(chunk.Len()) != info.Size {
			t.Fatalf("chunk of %q: %d octets (err %v), announced %d", msg, chunk.Len(), err, info.Size)
		}
		if _, err := smtp.WriteData(&data, msg); err != nil {
			t.Fatal(err)
		}
		unstuffed := strings.ReplaceAll(strings.TrimSuffix("\r\n"+data.String(), ".\r\n"), "\r\n.", "\r\n")
		if unstuffed[2:] != chunk.String() {
			t.Fatalf("DATA and BDAT disagree for %q:\n%q\n%q", msg, unstuffed[2:], chunk.String())
		}
	})
}

// FuzzReplies feeds arbitrary server bytes, cut at an arbitrary point,
// through the framer and parser: no panic, limits kept, and every reply that
// parses has a valid code and one text per line.
func FuzzReplies(f *testing.F) {
	f.Add([]byte("220-mx.test ESMTP\r\n220 ready\r\n"), uint16(7))
	f.Add([]byte("250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n550 5.1.1 no\r\n"), uint16(20))
	f.Add([]byte("354\n"), uint16(0))
	f.Add([]byte("250 2.0.0 ok\r\n25"), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		fr := smtp.NewFramer()
		at := int(cut) % (len(data) + 1)
		raws := fr.Feed(nil, data[:at])
		raws = fr.Feed(raws, data[at:])
		for _, raw := range raws {
			if len(raw.Lines) > smtp.MaxReplyLines {
				t.Fatalf("reply of %d lines", len(raw.Lines))
			}
			r, err := smtp.ParseReply(raw)
			if err != nil {
				continue
			}
			if r.Code < 200 || r.Code > 599 || len(r.Lines) != len(raw.Lines) {
				t.Fatalf("bad parse of %q: %+v", raw.Lines, r)
			}
			if e := r.Enhanced; e != (smtp.EnhancedCode{}) && e[0] != r.Code/100 {
				t.Fatalf("enhanced class %d for code %d", e[0], r.Code)
			}
		}
	})
}

// FuzzParseExtensions: any EHLO text parses without panic into keywords
// that are valid ehlo-keywords.
func FuzzParseExtensions(f *testing.F) {
	f.Add("mx\nPIPELINING\nSIZE 100\nAUTH PLAIN LOGIN")
	f.Add("\nSIZE -1\nAUTH\n8BITMIME")
	f.Fuzz(func(t *testing.T, text string) {
		ext := smtp.ParseExtensions(strings.Split(text, "\n"))
		if ext.Size < 0 {
			t.Fatalf("negative size %d", ext.Size)
		}
		for kw := range ext.Keywords {
			if kw == "" || strings.ToUpper(kw) != kw || strings.ContainsAny(kw, " \r\n") {
				t.Fatalf("bad keyword %q", kw)
			}
		}
	})
}
