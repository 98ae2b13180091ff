package http_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"net/http/httputil"

	"github.com/matryer/is"

	"netstages/protocols/http"
)

func TestChunked(t *testing.T) {
	cases := []struct {
		name, in, body string
		status         int
		rest           string
	}{
		{"two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT", "hello world", 0, "NEXT"},
		{"upper hex and ext", "A;name=\"v\"\r\n0123456789\r\n0\r\n\r\n", "0123456789", 0, ""},
		{"trailers", "1\r\nx\r\n0\r\nA: b\r\nC: d\r\n\r\n", "x", 0, ""},
		{"BWS before ext", "1 ;x\r\nx\r\n0\r\n\r\n", "x", 0, ""},
		{"bare LF size line", "1\nx\r\n0\r\n\r\n", "", 400, ""},
		{"no CRLF after data", "1\r\nxy\r\n0\r\n\r\n", "", 400, ""},
		{"negative size", "-1\r\n", "", 400, ""},
		{"0x prefix", "0x1\r\nx\r\n", "", 400, ""},
		{"empty size", "\r\n", "", 400, ""},
		{"size overflow", "fffffffffffffffff\r\n", "", 400, ""},
		{"bad trailer", "0\r\nno colon\r\n\r\n", "", 400, ""},
		{"ext with CTL", "1;a\x01\r\nx\r\n0\r\n\r\n", "", 400, ""},
		{"over body limit", "100001\r\n", "", 413, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			d := http.NewChunkedDecoder(http.Limits{})
			body, n, err := d.Feed(nil, []byte(c.in), true)
			if c.status != 0 {
				is.True(err != nil)                          // rejected
				is.Equal(err.(*http.Error).Status, c.status) // with its status
				return
			}
			is.NoErr(err)
			is.True(d.Done())
			is.Equal(string(body), c.body)
			is.Equal(c.in[n:], c.rest) // stops at the message's end
		})
	}
}

// FuzzRequestFramer feeds arbitrary bytes in two pieces: the framer never
// panics, the split never changes the result, every accepted head satisfies
// the invariants, and every accepted request is one net/http accepts too.
func FuzzRequestFramer(f *testing.F) {
	for _, s := range seedRequests {
		f.Add([]byte(s), uint16(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		lim := http.Limits{MaxRequestLine: 256, MaxHeaderBytes: 1024, MaxHeaders: 16, MaxBodyBytes: 4096}
		whole := http.NewRequestFramer(lim, true).Feed(nil, data)
		at := int(cut) % (len(data) + 1)
		fr := http.NewRequestFramer(lim, true)
		split := fr.Feed(fr.Feed(nil, data[:at]), data[at:])
		if len(whole) != len(split) {
			t.Fatalf("split at %d: %d frames, whole %d", at, len(split), len(whole))
		}
		for i, fw := range whole {
			fs := split[i]
			if (fw.Err == nil) != (fs.Err == nil) || string(fw.Body) != string(fs.Body) {
				t.Fatalf("frame %d differs when split at %d", i, at)
			}
			if fw.Err != nil {
				if i != len(whole)-1 {
					t.Fatal("frames after an error")
				}
				continue
			}
			r := fw.Req
			if i == 0 {
				if _, ok := oracle(string(data)); !ok && !knownDisagreement(data) {
					t.Fatalf("we accept, net/http refuses: %q", data)
				}
			}
			if r.ProtoMajor != 1 || !http.ValidFieldName(r.Method) || r.Target == "" {
				t.Fatalf("accepted a bad request line: %+v", r)
			}
			if r.Chunked && r.Header.Has("Content-Length") {
				t.Fatal("accepted both framings")
			}
			for _, h := range r.Header {
				if !http.ValidFieldName(h.Name) || !http.ValidFieldValue(h.Value) {
					t.Fatalf("accepted a bad field %q", h)
				}
			}
		}
	})
}

// FuzzChunkedDecoder checks the decoder against net/http/httputil's
// chunked reader: whatever we accept, it reads as the same body; and feeding
// byte by byte gives the same result as feeding at once.
func FuzzChunkedDecoder(f *testing.F) {
	for _, s := range []string{"5\r\nhello\r\n0\r\n\r\n", "1;a=b\r\nx\r\n0\r\nT: v\r\n\r\n", "0\r\n\r\n", "A\r\n0123456789\r\n0\r\n\r\nrest"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := http.Limits{MaxBodyBytes: 1 << 16}
		d := http.NewChunkedDecoder(lim)
		body, n, err := d.Feed(nil, data, true)
		if n > len(data) {
			t.Fatal("consumed more than fed")
		}
		slow := http.NewChunkedDecoder(lim)
		var sbody []byte
		var sn int
		var serr error
		for i := 0; i < len(data) && serr == nil && !slow.Done(); i++ {
			var k int
			sbody, k, serr = slow.Feed(sbody, data[i:i+1], true)
			sn += k
		}
		if (err == nil) != (serr == nil) || d.Done() != slow.Done() || string(body) != string(sbody) || (d.Done() && n != sn) {
			t.Fatalf("byte by byte differs: %v/%v done %v/%v", err, serr, d.Done(), slow.Done())
		}
		if err != nil || !d.Done() {
			return
		}
		theirs, terr := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(data[:n])))
		if terr != nil && !strings.Contains(terr.Error(), "EOF") {
			t.Fatalf("we accept, httputil rejects (%v): %q", terr, data[:n])
		}
		if terr == nil && !bytes.Equal(theirs, body) {
			t.Fatalf("bodies differ: ours %q, httputil %q", body, theirs)
		}
	})
}

// knownDisagreement says whether an input we accept and net/http refuses
// falls in a class listed in kept (by its first head).
func knownDisagreement(data []byte) bool {
	_, listed := kept[string(data)]
	return listed
}
