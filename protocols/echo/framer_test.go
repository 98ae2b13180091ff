package echo_test

import (
	"bytes"
	"testing"

	"github.com/matryer/is"

	"netstages/protocols/echo"
)

func TestFramerSplitsAndJoinsAcrossChunks(t *testing.T) {
	is := is.New(t)
	f := echo.NewFramer(64)
	lines := f.Feed(nil, []byte("one\ntw"))
	lines = f.Feed(lines, []byte("o\r\nthree"))
	lines = f.End(lines)
	is.Equal(len(lines), 3)
	is.Equal(string(lines[0].Text), "one")
	is.Equal(lines[0].EOL, "\n")
	is.Equal(string(lines[1].Text), "two") // joined across chunks
	is.Equal(lines[1].EOL, "\r\n")
	is.Equal(string(lines[2].Text), "three") // unterminated last line kept
	is.Equal(lines[2].EOL, "")
}

func TestFramerLimit(t *testing.T) {
	is := is.New(t)
	f := echo.NewFramer(8)
	lines := f.Feed(nil, []byte("1234567\nabcdefgh"))
	is.Equal(len(lines), 1) // 8 bytes with LF fit
	lines = f.Feed(nil, []byte("i\nlater\n"))
	is.Equal(len(lines), 1)   // only the error
	is.True(lines[0].TooLong) // 10 bytes do not
	is.True(f.Failed())
	is.Equal(len(f.Feed(nil, []byte("x\n"))), 0) // nothing after a failure
}

// FuzzFramer checks that, whatever the chunking, the framer gives back
// exactly the bytes it was fed, or stops at a too-long line.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("hello\nworld\r\n"), uint8(3), uint16(64))
	f.Add([]byte("\n\n\r\n"), uint8(1), uint16(2))
	f.Add([]byte("no newline"), uint8(0), uint16(4))
	f.Fuzz(func(t *testing.T, data []byte, cut uint8, limit uint16) {
		maxLine := int(limit)%512 + 1
		fr := echo.NewFramer(maxLine)
		at := int(cut) % (len(data) + 1)
		lines := fr.Feed(nil, data[:at])
		lines = fr.Feed(lines, data[at:])
		lines = fr.End(lines)
		var back []byte
		for _, l := range lines {
			if l.TooLong {
				if !fr.Failed() {
					t.Fatal("too-long line but framer not failed")
				}
				return
			}
			if len(l.Text)+len(l.EOL) > maxLine {
				t.Fatalf("line of %d bytes over limit %d", len(l.Text)+len(l.EOL), maxLine)
			}
			back = append(append(back, l.Text...), l.EOL...)
		}
		if !bytes.Equal(back, data) {
			t.Fatalf("lost or changed bytes: fed %q, got %q", data, back)
		}
	})
}
