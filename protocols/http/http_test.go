package http_test

import (
	"strings"
	"testing"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/protocols/http"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// frameAll feeds raw to a fresh framer in one piece and in pieces of every
// size from 1 to 7, and checks that the chunking does not change the result.
func frameAll(t *testing.T, raw string, lim http.Limits, keep bool) []http.Frame {
	t.Helper()
	whole := http.NewRequestFramer(lim, keep).Feed(nil, []byte(raw))
	for step := 1; step <= 7; step++ {
		f := http.NewRequestFramer(lim, keep)
		var got []http.Frame
		for i := 0; i < len(raw); i += step {
			got = f.Feed(got, []byte(raw[i:min(i+step, len(raw))]))
		}
		if len(got) != len(whole) {
			t.Fatalf("%q in pieces of %d: %d frames, whole: %d", raw, step, len(got), len(whole))
		}
		for i := range got {
			if (got[i].Err == nil) != (whole[i].Err == nil) || got[i].Err != nil && got[i].Err.Status != whole[i].Err.Status {
				t.Fatalf("%q in pieces of %d: frame %d err %v, whole: %v", raw, step, i, got[i].Err, whole[i].Err)
			}
			if got[i].BodyLen != whole[i].BodyLen || string(got[i].Body) != string(whole[i].Body) {
				t.Fatalf("%q in pieces of %d: frame %d body differs", raw, step, i)
			}
		}
	}
	return whole
}

func TestRequestHeads(t *testing.T) {
	cases := []struct {
		name, raw string
		status    int // 0: accepted
	}{
		{"simple", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
		{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", 0},
		{"HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", 0},
		{"leading empty lines skipped", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
		{"OWS trimmed", "GET / HTTP/1.1\r\nHost:   a \t\r\n\r\n", 0},
		{"absolute-form", "GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n", 0},
		{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0},
		{"HTTP/1.9 is 1.x", "GET / HTTP/1.9\r\nHost: a\r\n\r\n", 0},
		{"same Content-Length twice", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 0},
		{"no Host in 1.1", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"bad Host", "GET / HTTP/1.1\r\nHost: a b/c\r\n\r\n", 400},
		{"lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"missing version", "GET /\r\nHost: a\r\n\r\n", 400},
		{"trailing word", "GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", 400},
		{"bad method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"NUL in target", "GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"tab in target", "GET /\ta HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"bare CR in line", "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n", 400},
		{"no colon", "GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n", 400},
		{"empty name", "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", 400},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400},
		{"version 2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
		{"version 0.9", "GET / HTTP/0.9\r\n\r\n", 505},
		{"CL and TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"conflicting CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", 400},
		{"CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nx", 400},
		{"negative CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
		{"plus CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx", 400},
		{"huge CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
		{"TE not chunked last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
		{"TE gzip, chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
		{"TE chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501},
		{"TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"TE with space in name", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400},
		{"TE xchunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 400},
		{"CL too big for limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			frames := frameAll(t, c.raw, http.Limits{}, false)
			is.Equal(len(frames), 1) // one frame: a request or an error
			if c.status == 0 {
				is.True(frames[0].Err == nil) // accepted
				is.True(frames[0].Req != nil) // with a head
				return
			}
			is.True(frames[0].Err != nil)            // rejected
			is.Equal(frames[0].Err.Status, c.status) // with the right status
		})
	}
}

func TestParsedFields(t *testing.T) {
	is := is.New(t)
	frames := frameAll(t, "HEAD /a%20b?q=1 HTTP/1.0\r\nHost: example.org:8080\r\nX-Thing: one\r\nx-thing:two\r\nConnection: Keep-Alive\r\n\r\n", http.Limits{}, false)
	is.Equal(len(frames), 1)
	r := frames[0].Req
	is.Equal(r.Method, "HEAD")
	is.Equal(r.Target, "/a%20b?q=1")
	is.Equal(r.Proto(), "HTTP/1.0")
	is.Equal(r.Host, "example.org:8080")
	is.Equal(r.Header.Values("X-THING"), []string{"one", "two"}) // case-insensitive, in wire order
	is.Equal(r.Header[1].Name, "X-Thing")                        // original case kept
	is.Equal(r.Header[2].Name, "x-thing")
	is.True(!r.Close) // 1.0 with keep-alive stays open
	is.Equal(r.ContentLength, int64(0))
}

func TestConnectionClose(t *testing.T) {
	is := is.New(t)
	for raw, want := range map[string]bool{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n":                                  false,
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n": true,
		"GET / HTTP/1.0\r\n\r\n":                                             true,
	} {
		f := frameAll(t, raw, http.Limits{}, false)
		is.Equal(f[0].Req.Close, want) // per RFC 9112 §9.3
	}
}

func TestPipelinedBatchWithBodies(t *testing.T) {
	is := is.New(t)
	raw := "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n" +
		"GET /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" +
		"GET /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer-X: y\r\n\r\n" +
		"\r\nGET /4 HTTP/1.1\r\nHost: a\r\n\r\n"
	frames := frameAll(t, raw, http.Limits{}, true)
	is.Equal(len(frames), 4) // four requests in one batch
	for i, f := range frames {
		is.True(f.Err == nil)
		is.Equal(f.Req.Target, "/"+string(rune('1'+i))) // in order
	}
	is.Equal(string(frames[1].Body), "hello")
	is.Equal(string(frames[2].Body), "abcde") // dechunked
	is.Equal(frames[2].BodyLen, int64(5))
	dropped := frameAll(t, raw, http.Limits{}, false)
	is.Equal(dropped[1].Body, nil)         // bodies not kept...
	is.Equal(dropped[2].BodyLen, int64(5)) // ...but read and counted
}

func TestHeadLimits(t *testing.T) {
	is := is.New(t)
	lim := http.Limits{MaxRequestLine: 64, MaxHeaderBytes: 256, MaxHeaders: 4}
	long := "GET /" + strings.Repeat("a", 100) + " HTTP/1.1\r\nHost: a\r\n\r\n"
	is.Equal(frameAll(t, long, lim, false)[0].Err.Status, 414)
	// no newline at all yet, but already over the limit: 414 without waiting
	is.Equal(http.NewRequestFramer(lim, false).Feed(nil, []byte("GET /"+strings.Repeat("a", 100)))[0].Err.Status, 414)
	big := "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("b", 300) + "\r\n\r\n"
	is.Equal(frameAll(t, big, lim, false)[0].Err.Status, 431)
	many := "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", 5) + "\r\n"
	is.Equal(frameAll(t, many, lim, false)[0].Err.Status, 431)
	four := "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", 3) + "\r\n"
	is.True(frameAll(t, four, lim, false)[0].Err == nil) // exactly at the limit
}

func TestNothingAfterAnError(t *testing.T) {
	is := is.New(t)
	f := http.NewRequestFramer(http.Limits{}, false)
	frames := f.Feed(nil, []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\nBAD\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	is.Equal(len(frames), 2) // the good one, then the error
	is.Equal(frames[1].Err.Status, 400)
	is.True(f.Failed())
	is.Equal(len(f.Feed(nil, []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))), 0) // the stream is not trusted any more
}

func TestPartial(t *testing.T) {
	is := is.New(t)
	f := http.NewRequestFramer(http.Limits{}, false)
	is.True(!f.Partial()) // idle
	f.Feed(nil, []byte("GET / HT"))
	is.True(f.Partial()) // mid-head
	f.Feed(nil, []byte("TP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nx"))
	is.True(f.Partial()) // mid-body
	is.Equal(len(f.Feed(nil, []byte("y"))), 1)
	is.True(!f.Partial()) // idle again
}

func TestHeaderMethods(t *testing.T) {
	is := is.New(t)
	var h http.Header
	h.Add("Accept", "a")
	h.Add("X-One", "1")
	h.Add("accept", "b")
	h.Add("X-Two", "2")
	is.Equal(h.Get("ACCEPT"), "a")
	h.Set("Accept", "c")
	is.Equal(h.Values("accept"), []string{"c"}) // Set leaves one
	is.Equal(h[0].Name, "Accept")               // in its place
	is.Equal(len(h), 3)
	h.Del("x-one")
	is.Equal(string(h.AppendTo(nil)), "Accept: c\r\nX-Two: 2\r\n") // order kept
	h.Set("New", "n")
	is.Equal(h.Get("new"), "n")
	is.True(h.HasToken("Accept", "C"))
	is.True(!http.ValidFieldValue("a\r\nb")) // house rule 9
	is.True(http.ValidFieldValue("a\tb é"))
	is.True(!http.ValidFieldName("a b"))
}

func TestResponseHead(t *testing.T) {
	is := is.New(t)
	b := http.AppendStatusLine(nil, 1, 1, 404)
	b = http.AppendIntField(b, "Content-Length", 12)
	is.Equal(string(b), "HTTP/1.1 404 Not Found\r\nContent-Length: 12\r\n")
	tm, ok := http.ParseTime("Sunday, 06-Nov-94 08:49:37 GMT")
	is.True(ok) // RFC 850 form accepted
	is.Equal(string(http.AppendTime(nil, tm)), "Sun, 06 Nov 1994 08:49:37 GMT")
	_, ok = http.ParseTime("Sun Nov  6 08:49:37 1994")
	is.True(ok) // asctime form accepted
}
