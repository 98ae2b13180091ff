package http

import (
	"strconv"
	"strings"
)

// Response is a parsed response head (RFC 9112 §4): the status line, the
// header fields in wire order, and how the body that follows is framed
// (RFC 9112 §6.3). A proxy reads one from each upstream exchange.
type Response struct {
	// ProtoMajor and ProtoMinor are the version the origin spoke, e.g. 1, 1.
	ProtoMajor, ProtoMinor int
	// Status is the three-digit status code.
	Status int
	// Reason is the reason phrase as sent (may be empty).
	Reason string
	// Header holds the fields in wire order, original case.
	Header Header
	// ContentLength is the body length from Content-Length; -1 when the
	// body is chunked or ends when the connection closes; 0 with NoBody.
	ContentLength int64
	// Chunked is true when the body uses the chunked transfer coding.
	Chunked bool
	// NoBody is true when no body follows the head whatever the fields say:
	// a response to HEAD, a 1xx, 204 or 304 (RFC 9112 §6.3 rule 1), or a
	// 2xx to CONNECT (rule 2).
	NoBody bool
	// UntilClose is true when the body ends only when the connection closes
	// (RFC 9112 §6.3 rule 7, or rule 4 for a final coding other than
	// chunked).
	UntilClose bool
	// Close is true when the connection cannot carry another exchange after
	// this response: "Connection: close", HTTP/1.0 without keep-alive, a
	// close-delimited body, or Transfer-Encoding with Content-Length.
	Close bool
}

// Proto returns the version as on the wire, e.g. "HTTP/1.1".
func (r *Response) Proto() string {
	return "HTTP/" + strconv.Itoa(r.ProtoMajor) + "." + strconv.Itoa(r.ProtoMinor)
}

// Informational reports whether the response is 1xx, to be skipped while
// waiting for the final response (RFC 9110 §15.2).
func (r *Response) Informational() bool { return r.Status >= 100 && r.Status < 200 }

// ParseResponseHead parses a response head: the status line and header
// lines, each ending in CRLF or a bare LF, without the empty line that ends
// the head. method is the request's method, which decides whether a body
// follows (RFC 9112 §6.3). The syntax rules are those of requests (no
// whitespace before a colon, no obs-fold, no control bytes in values);
// a failure is an *Error with status 502 (Bad Gateway), which is what a
// proxy answers when an origin's response cannot be read. lim.MaxHeaders
// bounds the field count; the byte limits are the caller's.
func ParseResponseHead(head []byte, lim Limits, method string) (*Response, error) {
	lim = lim.WithDefaults()
	s := string(head)
	line, rest, _ := strings.Cut(s, "\n")
	resp := &Response{}
	if err := parseStatusLine(resp, trimCR(line)); err != nil {
		return nil, err
	}
	n := strings.Count(rest, "\n")
	if n > lim.MaxHeaders {
		return nil, errorf(StatusBadGateway, "response has more than %d header fields", lim.MaxHeaders)
	}
	resp.Header = make(Header, 0, n+1)
	for rest != "" {
		line, rest, _ = strings.Cut(rest, "\n")
		f, err := parseField(trimCR(line))
		if err != nil {
			return nil, badGateway(err)
		}
		resp.Header = append(resp.Header, f)
	}
	if err := resp.frame(method); err != nil {
		return nil, err
	}
	return resp, nil
}

func badGateway(err *Error) *Error {
	return &Error{Status: StatusBadGateway, Reason: "response: " + err.Reason}
}

// parseStatusLine: HTTP-version SP 3DIGIT SP [ reason-phrase ]
// (RFC 9112 §4). A missing space after the code is accepted, as most
// clients do.
func parseStatusLine(r *Response, line string) *Error {
	version, rest, ok := strings.Cut(line, " ")
	if !ok {
		return errorf(StatusBadGateway, "malformed status line")
	}
	major, minor, ok := parseVersion(version)
	if !ok {
		return errorf(StatusBadGateway, "malformed HTTP version in status line")
	}
	if major != 1 {
		return errorf(StatusBadGateway, "response in HTTP/%d.%d", major, minor)
	}
	code, reason, _ := strings.Cut(rest, " ")
	if len(code) != 3 || !isDigit(code[0]) || !isDigit(code[1]) || !isDigit(code[2]) || code[0] < '1' || code[0] > '5' {
		return errorf(StatusBadGateway, "malformed status code")
	}
	if !ValidFieldValue(reason) {
		return errorf(StatusBadGateway, "invalid byte in reason phrase")
	}
	r.ProtoMajor, r.ProtoMinor = major, minor
	r.Status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	r.Reason = reason
	return nil
}

// frame applies RFC 9112 §6.3 to decide how the body is delimited.
func (r *Response) frame(method string) *Error {
	if r.ProtoMajor == 1 && r.ProtoMinor >= 1 {
		r.Close = r.Header.HasToken("Connection", "close")
	} else {
		r.Close = !r.Header.HasToken("Connection", "keep-alive")
	}
	te := r.Header.Values("Transfer-Encoding")
	cl := r.Header.Values("Content-Length")
	switch {
	case method == "HEAD" || r.Informational() || r.Status == 204 || r.Status == 304:
		r.NoBody = true // rule 1
		return nil
	case method == "CONNECT" && r.Status/100 == 2:
		r.NoBody = true // rule 2: the connection becomes a tunnel
		return nil
	case len(te) > 0:
		if len(cl) > 0 {
			r.Close = true // rule 3: Transfer-Encoding overrides; do not reuse
		}
		if finalCoding(te) == "chunked" {
			r.Chunked, r.ContentLength = true, -1
			return nil
		}
		r.UntilClose, r.Close, r.ContentLength = true, true, -1 // rule 4
		return nil
	case len(cl) > 0:
		n, err := contentLength(cl)
		if err != nil {
			return badGateway(err) // rule 5: unrecoverable
		}
		r.ContentLength = n
		return nil
	}
	r.UntilClose, r.Close, r.ContentLength = true, true, -1 // rule 7
	return nil
}

// finalCoding returns the last transfer coding listed, lower case.
func finalCoding(values []string) string {
	last := ""
	for _, v := range values {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.Trim(c, " \t"); c != "" {
				last = c
			}
		}
	}
	return strings.ToLower(last)
}
