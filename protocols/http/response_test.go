package http_test

import (
	"bufio"
	nethttp "net/http"
	"strings"
	"testing"

	"github.com/matryer/is"

	"netstages/protocols/http"
)

func TestParseResponseHead(t *testing.T) {
	cases := []struct {
		name       string
		head       string
		method     string
		status     int
		cl         int64
		chunked    bool
		noBody     bool
		untilClose bool
		close      bool
		errStatus  int
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", "GET", 200, 5, false, false, false, false, 0},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n", "GET", 200, -1, true, false, false, false, 0},
		{"§6.3 rule 1: HEAD has no body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", "HEAD", 200, 0, false, true, false, false, 0},
		{"§6.3 rule 1: 304 has no body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n", "GET", 304, 0, false, true, false, false, 0},
		{"§6.3 rule 1: 204", "HTTP/1.1 204 No Content\r\n", "GET", 204, 0, false, true, false, false, 0},
		{"§6.3 rule 1: 1xx", "HTTP/1.1 100 Continue\r\n", "POST", 100, 0, false, true, false, false, 0},
		{"§6.3 rule 2: CONNECT 200", "HTTP/1.1 200 Connection established\r\n", "CONNECT", 200, 0, false, true, false, false, 0},
		{"§6.3 rule 3: TE overrides CL, close after", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n", "GET", 200, -1, true, false, false, true, 0},
		{"§6.3 rule 4: final coding not chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n", "GET", 200, -1, false, false, true, true, 0},
		{"§6.3 rule 5: conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n", "GET", 0, 0, false, false, false, false, 502},
		{"§6.3 rule 5: same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n", "GET", 200, 3, false, false, false, false, 0},
		{"§6.3 rule 5: invalid length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n", "GET", 0, 0, false, false, false, false, 502},
		{"§6.3 rule 7: close-delimited", "HTTP/1.1 200 OK\r\n", "GET", 200, -1, false, false, true, true, 0},
		{"HTTP/1.0 closes by default", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n", "GET", 200, 1, false, false, false, true, 0},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n", "GET", 200, 1, false, false, false, false, 0},
		{"Connection: close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n", "GET", 200, 1, false, false, false, true, 0},
		{"bare LF lines", "HTTP/1.1 404 Not Found\nContent-Length: 0\n", "GET", 404, 0, false, false, false, false, 0},
		{"empty reason", "HTTP/1.1 200 \r\nContent-Length: 0\r\n", "GET", 200, 0, false, false, false, false, 0},
		{"no space after code", "HTTP/1.1 200\r\nContent-Length: 0\r\n", "GET", 200, 0, false, false, false, false, 0},
		{"HTTP/2 status line", "HTTP/2.0 200 OK\r\n", "GET", 0, 0, false, false, false, false, 502},
		{"two-digit code", "HTTP/1.1 20 OK\r\n", "GET", 0, 0, false, false, false, false, 502},
		{"code 600", "HTTP/1.1 600 X\r\n", "GET", 0, 0, false, false, false, false, 502},
		{"garbage", "hello", "GET", 0, 0, false, false, false, false, 502},
		{"obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n", "GET", 0, 0, false, false, false, false, 502},
		{"space before colon", "HTTP/1.1 200 OK\r\nX : a\r\n", "GET", 0, 0, false, false, false, false, 502},
		{"CR in reason", "HTTP/1.1 200 O\rK\r\n", "GET", 0, 0, false, false, false, false, 502},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			r, err := http.ParseResponseHead([]byte(c.head), http.Limits{}, c.method)
			if c.errStatus != 0 {
				var herr *http.Error
				is.True(err != nil)                // refused
				is.True(asError(err, &herr))       // typed
				is.Equal(herr.Status, c.errStatus) // with the status a proxy answers
				return
			}
			is.NoErr(err)
			is.Equal(r.Status, c.status)
			is.Equal(r.ContentLength, c.cl)
			is.Equal(r.Chunked, c.chunked)
			is.Equal(r.NoBody, c.noBody)
			is.Equal(r.UntilClose, c.untilClose)
			is.Equal(r.Close, c.close)
		})
	}
}

func asError(err error, target **http.Error) bool {
	e, ok := err.(*http.Error)
	*target = e
	return ok
}

func TestParseResponseHeadFieldLimit(t *testing.T) {
	is := is.New(t)
	head := "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: y\r\n", 5)
	_, err := http.ParseResponseHead([]byte(head), http.Limits{MaxHeaders: 4}, "GET")
	is.True(err != nil) // over MaxHeaders
	r, err := http.ParseResponseHead([]byte(head), http.Limits{MaxHeaders: 5}, "GET")
	is.NoErr(err)
	is.Equal(len(r.Header), 5)
	is.Equal(r.Proto(), "HTTP/1.1")
}

// FuzzParseResponseHead checks that a head the parser accepts is one Go's
// net/http reads with the same status and, where both frame by length, the
// same length; and that the parser never panics.
func FuzzParseResponseHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n",
		"HTTP/1.0 304 Not Modified\r\nETag: \"x\"\r\n",
		"HTTP/1.1 200\nA:b\n",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, head string, isHead bool) {
		method := "GET"
		if isHead {
			method = "HEAD"
		}
		r, err := http.ParseResponseHead([]byte(head), http.Limits{}, method)
		if err != nil {
			if _, ok := err.(*http.Error); !ok {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if r.Status < 100 || r.Status > 599 {
			t.Fatalf("status %d", r.Status)
		}
		if r.NoBody && (r.Chunked || r.UntilClose) || r.Chunked && r.UntilClose {
			t.Fatalf("contradictory framing %+v", r)
		}
		if strings.ContainsAny(head, "\r") && !strings.Contains(head, "\r\n") {
			return // bare CR lines: net/http reads those differently
		}
		req, _ := nethttp.NewRequest(method, "http://x/", nil)
		g, gerr := nethttp.ReadResponse(bufio.NewReader(strings.NewReader(head+"\r\n")), req)
		if gerr != nil {
			return // net/http is stricter in places (e.g. field names); that is fine
		}
		defer g.Body.Close()
		if g.StatusCode != r.Status {
			t.Fatalf("status: ours %d, net/http %d", r.Status, g.StatusCode)
		}
		if !r.NoBody && !r.Chunked && !r.UntilClose && g.ContentLength >= 0 && g.ContentLength != r.ContentLength {
			t.Fatalf("length: ours %d, net/http %d", r.ContentLength, g.ContentLength)
		}
	})
}
