package proxy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/matryer/is"

	wire "netstages/protocols/http"
	"netstages/protocols/proxy"
)

// feedAll feeds raw to a fresh framer in pieces of size step.
func feedAll(raw string, step int, lim wire.Limits) []proxy.Inbound {
	f := proxy.NewFramer(lim)
	var got []proxy.Inbound
	for i := 0; i < len(raw); i += step {
		got = f.Feed(got, []byte(raw[i:min(i+step, len(raw))]))
	}
	return got
}

// summary flattens items so that different chunkings can be compared:
// streamed body pieces are joined.
func summary(items []proxy.Inbound) []string {
	var out []string
	var body []byte
	for _, it := range items {
		switch {
		case it.IsBody:
			body = append(body, it.Body...)
			if it.BodyEnd {
				out = append(out, fmt.Sprintf("body %q", body))
				body = nil
			}
		case it.IsRaw:
			out = append(out, fmt.Sprintf("raw %q", it.Raw.Data))
		case it.Frame.Err != nil:
			out = append(out, fmt.Sprintf("error %d", it.Frame.Err.Status))
		default:
			out = append(out, fmt.Sprintf("%s %s streamed=%v body=%q", it.Frame.Req.Method, it.Frame.Req.Target, it.Streamed, it.Frame.Body))
		}
	}
	return out
}

func TestFramerSmallBodiesWholeLargeAndChunkedStreamed(t *testing.T) {
	is := is.New(t)
	big := strings.Repeat("b", proxy.StreamThreshold+1)
	raw := "POST http://o/small HTTP/1.1\r\nHost: o\r\nContent-Length: 5\r\n\r\nhello" +
		"\r\n" + // a stray empty line between requests is skipped
		"POST http://o/big HTTP/1.1\r\nHost: o\r\nContent-Length: " + fmt.Sprint(len(big)) + "\r\n\r\n" + big +
		"POST http://o/chunked HTTP/1.1\r\nHost: o\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
		"GET http://o/after HTTP/1.1\r\nHost: o\r\n\r\n"
	want := []string{
		`POST http://o/small streamed=false body="hello"`,
		`POST http://o/big streamed=true body=""`,
		fmt.Sprintf("body %q", big),
		`POST http://o/chunked streamed=true body=""`,
		`body "3\r\nabc\r\n0\r\n\r\n"`, // chunked bodies go on as coded
		`GET http://o/after streamed=false body=""`,
	}
	for _, step := range []int{len(raw), 1, 7, 4096} {
		is.Equal(summary(feedAll(raw, step, wire.Limits{})), want) // same items whatever the chunking
	}
}

func TestFramerConnectKeepsBytesThatCameWithIt(t *testing.T) {
	is := is.New(t)
	got := summary(feedAll("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n\x16\x03\x01hello", 1<<20, wire.Limits{}))
	is.Equal(got, []string{`CONNECT h:443 streamed=false body=""`, `raw "\x16\x03\x01hello"`}) // nothing lost
}

func TestFramerLimits(t *testing.T) {
	is := is.New(t)
	cases := []struct {
		raw    string
		lim    wire.Limits
		status int
	}{
		{"GET http://o/" + strings.Repeat("a", 100) + " HTTP/1.1\r\n", wire.Limits{MaxRequestLine: 64}, 414},
		{"GET http://o/ HTTP/1.1\r\nHost: o\r\nX: " + strings.Repeat("a", 200) + "\r\n", wire.Limits{MaxHeaderBytes: 128}, 431},
		{"POST http://o/ HTTP/1.1\r\nHost: o\r\nContent-Length: 1000\r\n\r\n", wire.Limits{MaxBodyBytes: 999}, 413},
		{"POST http://o/ HTTP/1.1\r\nHost: o\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", wire.Limits{}, 400},
		{"GET http://o/ HTTP/1.1\r\nHost: o\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", wire.Limits{}, 400},
	}
	for _, c := range cases {
		items := feedAll(c.raw, 3, c.lim)
		last := items[len(items)-1]
		is.True(last.Frame.Err != nil)            // refused
		is.Equal(last.Frame.Err.Status, c.status) // with the right status
	}
}

// FuzzFramer checks the proxy's framer against the shared request framer
// (which reads bodies whole): the same requests, bodies and errors in the
// same order, whatever the chunking.
func FuzzFramer(f *testing.F) {
	f.Add("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", uint8(3))
	f.Add("POST http://a/ HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", uint8(5))
	f.Add("POST http://a/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", uint8(1))
	f.Add("\r\n\r\nGET / HTTP/1.0\r\n\r\n", uint8(2))
	f.Fuzz(func(t *testing.T, raw string, cut uint8) {
		if strings.HasPrefix(raw, "CONNECT") || strings.Contains(raw, "\nCONNECT") || strings.Contains(raw, "CONNECT ") {
			return // after CONNECT the shared framer goes on framing; ours goes raw
		}
		lim := wire.Limits{MaxBodyBytes: 1 << 16}
		step := int(cut)%16 + 1
		ours := feedAll(raw, step, lim)
		whole := wire.NewRequestFramer(lim, true).Feed(nil, []byte(raw))
		var got, want []string
		var body []byte
		pending, chunked := false, false
		for _, it := range ours {
			switch {
			case it.IsBody:
				body = append(body, it.Body...)
				if it.BodyEnd {
					if chunked { // ours passes the coded bytes on: decode to compare
						body, _, _ = wire.NewChunkedDecoder(lim).Feed(nil, body, true)
					}
					got = append(got, fmt.Sprintf("body %q", body))
					body, pending = nil, false
				}
			case it.Frame.Err != nil:
				if pending { // a streamed head went out before its body broke; the shared framer never emits it
					got, pending = got[:len(got)-1], false
				}
				got = append(got, fmt.Sprintf("error %d", it.Frame.Err.Status))
			default:
				got = append(got, it.Frame.Req.Method+" "+it.Frame.Req.Target)
				if it.Streamed {
					pending, chunked = true, it.Frame.Req.Chunked
				} else {
					got = append(got, fmt.Sprintf("body %q", it.Frame.Body))
				}
			}
		}
		for _, fr := range whole {
			if fr.Err != nil {
				want = append(want, fmt.Sprintf("error %d", fr.Err.Status))
				continue
			}
			want = append(want, fr.Req.Method+" "+fr.Req.Target, fmt.Sprintf("body %q", fr.Body))
		}
		if pending && len(got) > 0 {
			got = got[:len(got)-1] // a streamed body still arriving: the shared framer holds its request back
		}
		if len(got) != len(want) {
			t.Fatalf("ours %q\nshared %q", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("item %d: ours %q, shared %q\nall ours %q\nall shared %q", i, got[i], want[i], got, want)
			}
		}
	})
}
