package http

import (
	"strconv"
	"strings"
)

// Default limits, close to nginx's (8 KiB lines) and well under net/http's
// 1 MB header block.
const (
	DefaultMaxRequestLine = 8 << 10
	DefaultMaxHeaderBytes = 32 << 10
	DefaultMaxHeaders     = 100
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxChunkLine   = 4 << 10
)

// Limits bound what a peer may send (house rule 7). Zero fields take the
// defaults.
type Limits struct {
	// MaxRequestLine is the longest start line, CRLF included; longer gets 414.
	MaxRequestLine int
	// MaxHeaderBytes bounds the whole head (start line, fields and the empty
	// line); more gets 431. Also bounds chunked trailers.
	MaxHeaderBytes int
	// MaxHeaders is the most header fields; more gets 431.
	MaxHeaders int
	// MaxBodyBytes is the largest body the framer reads (kept or
	// discarded); larger gets 413.
	MaxBodyBytes int64
	// MaxChunkLine is the longest chunk-size line, extensions included.
	MaxChunkLine int
}

// WithDefaults fills zero fields with the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxRequestLine <= 0 {
		l.MaxRequestLine = DefaultMaxRequestLine
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.MaxChunkLine <= 0 {
		l.MaxChunkLine = DefaultMaxChunkLine
	}
	return l
}

// Request is a parsed request head (RFC 9112 §3): the start line, the header
// fields in wire order, and how the body is framed. The strings share one
// copy of the head's bytes.
type Request struct {
	// Method is the method token, case-sensitive ("GET").
	Method string
	// Target is the request-target as sent: origin-form ("/a?b"),
	// absolute-form ("http://h/a"), authority-form ("h:443") or "*".
	Target string
	// ProtoMajor and ProtoMinor are the HTTP version, e.g. 1 and 1.
	ProtoMajor, ProtoMinor int
	// Header holds the fields in wire order, original case.
	Header Header
	// Host is the Host field's value ("" if absent, allowed in HTTP/1.0).
	Host string
	// ContentLength is the body length from Content-Length, 0 when there is
	// no body, or -1 when the body is chunked.
	ContentLength int64
	// Chunked is true when Transfer-Encoding is chunked.
	Chunked bool
	// Close is true when the connection ends after this request: HTTP/1.1
	// with "Connection: close", or HTTP/1.0 without "Connection: keep-alive".
	Close bool
}

// Proto returns the version as on the wire, e.g. "HTTP/1.1".
func (r *Request) Proto() string {
	return "HTTP/" + strconv.Itoa(r.ProtoMajor) + "." + strconv.Itoa(r.ProtoMinor)
}

// ProtoAtLeast reports whether the version is at least major.minor.
func (r *Request) ProtoAtLeast(major, minor int) bool {
	return r.ProtoMajor > major || r.ProtoMajor == major && r.ProtoMinor >= minor
}

// HasBody reports whether a body follows the head.
func (r *Request) HasBody() bool { return r.Chunked || r.ContentLength > 0 }

// ParseRequestHead parses a request head: the request line and the header
// lines, each ending in CRLF (a bare LF is accepted, RFC 9112 §2.2), without
// the empty line that ends the head. It checks the syntax strictly, decides
// the body framing and refuses ambiguous framing (RFC 9112 §6.3), and
// returns an *Error with the status to answer on failure. It enforces
// lim.MaxHeaders; the byte limits are the framer's.
func ParseRequestHead(head []byte, lim Limits) (*Request, error) {
	lim = lim.WithDefaults()
	s := string(head) // one copy; every string below shares it
	line, rest, _ := strings.Cut(s, "\n")
	req := &Request{}
	if err := parseRequestLine(req, trimCR(line)); err != nil {
		return nil, err
	}
	n := strings.Count(rest, "\n")
	if n > lim.MaxHeaders {
		return nil, errorf(StatusRequestHeaderFieldsTooLarge, "more than %d header fields", lim.MaxHeaders)
	}
	req.Header = make(Header, 0, n)
	for rest != "" {
		line, rest, _ = strings.Cut(rest, "\n")
		f, err := parseField(trimCR(line))
		if err != nil {
			return nil, err
		}
		req.Header = append(req.Header, f)
	}
	if err := req.frame(); err != nil {
		return nil, err
	}
	return req, nil
}

func trimCR(line string) string {
	if strings.HasSuffix(line, "\r") {
		return line[:len(line)-1]
	}
	return line
}

// parseRequestLine: method SP request-target SP HTTP-version.
func parseRequestLine(req *Request, line string) *Error {
	method, rest, ok1 := strings.Cut(line, " ")
	target, version, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 {
		return badRequest("malformed request line")
	}
	if !ValidFieldName(method) {
		return badRequest("malformed method")
	}
	if target == "" {
		return badRequest("empty request-target")
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c == 0x7f {
			return badRequest("invalid byte in request-target")
		}
	}
	if err := checkTargetForm(method, target); err != nil {
		return err
	}
	major, minor, ok := parseVersion(version)
	if !ok {
		return badRequest("malformed HTTP version")
	}
	if major != 1 {
		return errorf(StatusHTTPVersionNotSupported, "HTTP/%d.%d is not supported", major, minor)
	}
	req.Method, req.Target, req.ProtoMajor, req.ProtoMinor = method, target, major, minor
	return nil
}

// parseVersion: "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3).
func parseVersion(v string) (major, minor int, ok bool) {
	if len(v) != 8 || v[:5] != "HTTP/" || v[6] != '.' || !isDigit(v[5]) || !isDigit(v[7]) {
		return 0, 0, false
	}
	return int(v[5] - '0'), int(v[7] - '0'), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseField: field-name ":" OWS field-value OWS. No whitespace before the
// colon (RFC 9112 §5.1: must be rejected) and no obs-fold (§5.2: rejected).
func parseField(line string) (Field, *Error) {
	if line == "" {
		return Field{}, badRequest("empty header line")
	}
	if line[0] == ' ' || line[0] == '\t' {
		return Field{}, badRequest("obsolete line folding")
	}
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return Field{}, badRequest("header line without colon")
	}
	if !ValidFieldName(name) {
		return Field{}, badRequest("invalid header field name")
	}
	value = strings.Trim(value, " \t")
	if !ValidFieldValue(value) {
		return Field{}, badRequest("invalid byte in header field value")
	}
	return Field{Name: name, Value: value}, nil
}

// frame decides the body length (RFC 9112 §6.1–6.3) and the connection's
// fate, refusing anything two parsers could read differently.
func (r *Request) frame() *Error {
	hosts := r.Header.Count("Host")
	switch {
	case hosts > 1:
		return badRequest("more than one Host field")
	case hosts == 0 && r.ProtoAtLeast(1, 1):
		return badRequest("HTTP/1.1 request without Host")
	case hosts == 1:
		r.Host = r.Header.Get("Host")
		if !validHost(r.Host) {
			return badRequest("invalid Host")
		}
	}
	te := r.Header.Values("Transfer-Encoding")
	cl := r.Header.Values("Content-Length")
	switch {
	case len(te) > 0 && len(cl) > 0:
		return badRequest("both Transfer-Encoding and Content-Length")
	case len(te) > 0:
		if err := r.transferCoding(te); err != nil {
			return err
		}
	case len(cl) > 0:
		n, err := contentLength(cl)
		if err != nil {
			return err
		}
		r.ContentLength = n
	}
	if r.ProtoAtLeast(1, 1) {
		r.Close = r.Header.HasToken("Connection", "close")
	} else {
		r.Close = !r.Header.HasToken("Connection", "keep-alive")
	}
	return nil
}

// transferCoding accepts exactly "chunked": chunked must be the final coding
// of a request (§6.3 rule 4: otherwise 400), and the server knows no other
// (§6.1: 501). HTTP/1.0 has no Transfer-Encoding (§6.1: faulty framing).
func (r *Request) transferCoding(values []string) *Error {
	if !r.ProtoAtLeast(1, 1) {
		return badRequest("Transfer-Encoding in an HTTP/1.0 request")
	}
	var codings []string
	for _, v := range values {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.Trim(c, " \t"); c != "" {
				codings = append(codings, c)
			}
		}
	}
	if len(codings) == 0 || !strings.EqualFold(codings[len(codings)-1], "chunked") {
		return badRequest("Transfer-Encoding does not end in chunked")
	}
	if len(codings) > 1 {
		return errorf(StatusNotImplemented, "unsupported transfer coding %q", strings.Join(codings, ", "))
	}
	r.Chunked, r.ContentLength = true, -1
	return nil
}

// contentLength reads one or more Content-Length fields: each must be
// 1*DIGIT, and all must agree (§6.3 rule 5).
func contentLength(values []string) (int64, *Error) {
	var n int64 = -1
	for _, v := range values {
		if v == "" || len(v) > 18 {
			return 0, badRequest("invalid Content-Length")
		}
		var m int64
		for i := 0; i < len(v); i++ {
			if !isDigit(v[i]) {
				return 0, badRequest("invalid Content-Length")
			}
			m = m*10 + int64(v[i]-'0')
		}
		if n >= 0 && m != n {
			return 0, badRequest("conflicting Content-Length values")
		}
		n = m
	}
	return n, nil
}

// validHost accepts uri-host [ ":" port ]: reg-name, IPv4 or an IP-literal
// in brackets; no userinfo, path or whitespace.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:[]%", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// checkTargetForm accepts the four request-target forms (RFC 9112 §3.2):
// origin-form "/path", absolute-form "scheme:...", authority-form
// "host:port" for CONNECT only, asterisk-form "*" for OPTIONS only.
func checkTargetForm(method, target string) *Error {
	switch {
	case target[0] == '/':
		return nil
	case target == "*":
		if method != "OPTIONS" {
			return badRequest("asterisk-form target outside OPTIONS")
		}
		return nil
	case method == "CONNECT":
		if strings.ContainsAny(target, "/?#@") || !strings.Contains(target, ":") {
			return badRequest("CONNECT target is not host:port")
		}
		return nil
	}
	scheme, _, ok := strings.Cut(target, ":")
	if !ok || scheme == "" || !isAlpha(scheme[0]) {
		return badRequest("malformed request-target")
	}
	for i := 1; i < len(scheme); i++ {
		if c := scheme[i]; !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return badRequest("malformed request-target scheme")
		}
	}
	return nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
