package httpd

import (
	"context"
	"path"
	"strings"
	"time"

	"netstages/actors"
	"netstages/protocols/http"
)

// Request is one request as the handler sees it: the wire head, or the
// error that ended the stream, and the target resolved to a clean path.
type Request struct {
	// Wire is the parsed head; nil when Err is set.
	Wire *http.Request
	// Err is a framing or syntax error: answer its status and close.
	Err *http.Error
	// Path is the percent-decoded, cleaned path, always rooted ("/a/b"),
	// "*" for an asterisk-form target, "" for authority-form.
	Path string
	// Slash says the decoded path ended in "/" (a directory was asked for).
	Slash bool
	// Query is the raw query, without "?".
	Query string
	// Remote is the client's address, for the access log.
	Remote string
	// Received is when the head was complete.
	Received time.Time
}

// ParserStage resolves each frame's request-target. The wire package has
// already checked the syntax; this stage percent-decodes the path, refuses
// bytes no file name here may contain (NUL, and backslash so that no
// Windows-style separator is ever taken for a name), and cleans it against
// "/" so that ".." can never climb above the root, whatever its encoding
// (%2e%2e, %2f).
func ParserStage(remote string, now func() time.Time) actors.StepFunc[[]http.Frame, []Request] {
	return func(ctx context.Context, frames []http.Frame, out *actors.Output[[]Request]) error {
		reqs := make([]Request, len(frames))
		at := now()
		for i, f := range frames {
			reqs[i] = Resolve(f)
			reqs[i].Remote, reqs[i].Received = remote, at
		}
		out.Send(reqs)
		return nil
	}
}

// Resolve turns one frame into a Request.
func Resolve(f http.Frame) Request {
	if f.Err != nil {
		return Request{Wire: f.Req, Err: f.Err}
	}
	r := Request{Wire: f.Req}
	target := f.Req.Target
	switch {
	case target == "*":
		r.Path = "*"
		return r
	case target[0] != '/':
		if f.Req.Method == "CONNECT" {
			return r
		}
		target = absolutePath(target)
	}
	raw, query, _ := strings.Cut(target, "?")
	r.Query = query
	decoded, err := unescapePath(raw)
	if err != nil {
		r.Err = err
		return r
	}
	r.Slash = strings.HasSuffix(decoded, "/")
	r.Path = path.Clean(decoded)
	return r
}

// absolutePath returns the path and query of an absolute-form target
// ("http://host:80/a?b" → "/a?b").
func absolutePath(target string) string {
	_, rest, ok := strings.Cut(target, "://")
	if !ok {
		return "/"
	}
	i := strings.IndexAny(rest, "/?")
	if i < 0 {
		return "/"
	}
	if rest[i] == '?' {
		return "/" + rest[i:]
	}
	return rest[i:]
}

// unescapePath percent-decodes a path, refusing bad escapes, NUL and
// backslash.
func unescapePath(s string) (string, *http.Error) {
	if !strings.ContainsAny(s, "%\\") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", &http.Error{Status: http.StatusBadRequest, Reason: "malformed percent-encoding in path"}
			}
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		switch c {
		case 0:
			return "", &http.Error{Status: http.StatusBadRequest, Reason: "NUL byte in path"}
		case '\\':
			return "", &http.Error{Status: http.StatusBadRequest, Reason: "backslash in path"}
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
