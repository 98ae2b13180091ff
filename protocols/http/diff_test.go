package http_test

import (
	"bufio"
	"io"
	nethttp "net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/matryer/is"
	"golang.org/x/net/http/httpguts"

	"netstages/protocols/http"
)

// kept lists the inputs where we disagree with net/http on purpose.
var kept = map[string]string{
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n": "both framings: RFC 9112 §6.3 lets a server drop Content-Length and go on (net/http does); we answer 400 and close (the issue: no smuggling)",
	"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n":                                 "Transfer-Encoding in HTTP/1.0: RFC 9112 §6.1 says the framing is faulty; net/http reads it as chunked",
}

// oracle is net/http's verdict: http.ReadRequest plus the checks its server
// makes afterwards (server.go readRequest: version, Host, field syntax).
func oracle(raw string) (*nethttp.Request, bool) {
	r, err := nethttp.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		return nil, false
	}
	// ReadRequest moves Host out of the header; the server checks it before,
	// on the header textproto read.
	tp := textproto.NewReader(bufio.NewReader(strings.NewReader(raw)))
	tp.ReadLine()
	h, _ := tp.ReadMIMEHeader()
	hosts, haveHost := h["Host"]
	switch {
	case r.ProtoMajor != 1:
		return nil, false
	case r.ProtoAtLeast(1, 1) && !haveHost:
		return nil, false
	case len(hosts) > 1, len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]):
		return nil, false
	}
	for k, vs := range r.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return nil, false
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, false
			}
		}
	}
	if len(r.TransferEncoding) > 0 && (len(r.TransferEncoding) != 1 || r.TransferEncoding[0] != "chunked") {
		return nil, false
	}
	if _, err := io.ReadAll(r.Body); err != nil {
		return nil, false // the body's framing is part of the request
	}
	return r, true
}

// fuzzCorpus reads the inputs of FuzzRequestFramer saved under testdata.
func fuzzCorpus(t *testing.T) []string {
	files, _ := filepath.Glob("testdata/fuzz/FuzzRequestFramer/*")
	var out []string
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if s, ok := strings.CutPrefix(line, "[]byte("); ok {
				if v, err := strconv.Unquote(strings.TrimSuffix(s, ")")); err == nil {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

func TestDifferentialAgainstNetHTTP(t *testing.T) {
	is := is.New(t)
	corpus := append(append([]string{}, seedRequests...), fuzzCorpus(t)...)
	agreed := 0
	for _, raw := range corpus {
		frames := http.NewRequestFramer(http.Limits{}, false).Feed(nil, []byte(raw))
		if len(frames) == 0 {
			continue // incomplete: nothing to compare
		}
		ours := frames[0]
		theirs, ok := oracle(raw)
		if why, listed := kept[raw]; listed {
			if (ours.Err == nil) == ok {
				t.Errorf("listed as a disagreement but both agree (ours err=%v): %q", ours.Err, raw)
			}
			t.Logf("kept on purpose: %q: %s", raw, why)
			continue
		}
		if (ours.Err == nil) != ok {
			t.Errorf("disagree on %q: ours err=%v, net/http ok=%v", raw, ours.Err, ok)
			continue
		}
		agreed++
		if !ok {
			continue
		}
		r := ours.Req
		is.Equal(r.Method, theirs.Method)     // method
		is.Equal(r.Target, theirs.RequestURI) // target
		is.Equal(r.Proto(), theirs.Proto)     // version
		for _, f := range r.Header {
			want := theirs.Header.Values(f.Name)
			if strings.EqualFold(f.Name, "Host") {
				want = []string{theirs.Host}
			}
			if strings.EqualFold(f.Name, "Content-Length") || strings.EqualFold(f.Name, "Transfer-Encoding") {
				continue // net/http moves these into fields of its own
			}
			is.Equal(r.Header.Values(f.Name), want) // same field values, same order
		}
	}
	is.True(agreed >= len(seedRequests)-len(kept)) // the whole seed corpus compared
}
