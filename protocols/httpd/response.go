package httpd

import (
	"html"
	"os"
	"strconv"

	"netstages/protocols/http"
)

// Response is what the writer puts on the wire for one request: a head, an
// optional in-memory body, and optionally sections of an open file sent
// after it (by sendfile(2) when they are large).
type Response struct {
	// Status is the status code, for the log and metrics.
	Status int
	head   []byte    // status line, fields, empty line
	data   []byte    // in-memory body (error page, listing, 304/HEAD: none)
	file   *fileBody // file sections after data; nil for none
	close  bool      // close the connection after this response
	req    *Request
}

// BodyLen is the number of body bytes the response sends.
func (r *Response) BodyLen() int64 {
	n := int64(len(r.data))
	if r.file != nil {
		n += r.file.length()
	}
	return n
}

// fileBody is an open file and the parts of it to send: one section for a
// whole file or a single range, several with multipart framing between them.
type fileBody struct {
	file  *os.File // nil when mem holds the file's bytes (cache)
	mem   []byte
	parts []section
	tail  []byte // after the last section (multipart closing boundary)
}

type section struct {
	prefix []byte // sent before the bytes (multipart part head)
	off, n int64
}

func (b *fileBody) length() int64 {
	n := int64(len(b.tail))
	for _, p := range b.parts {
		n += int64(len(p.prefix)) + p.n
	}
	return n
}

// startHead begins a response head: status line, Date, Server.
func (s *Server) startHead(status int, sizeHint int) []byte {
	b := make([]byte, 0, 192+sizeHint)
	b = http.AppendStatusLine(b, 1, 1, status)
	b = append(b, "Date: "...)
	b = s.date.Append(b)
	b = append(b, "\r\nServer: "+ServerName+"\r\n"...)
	return b
}

// endHead adds the connection fields and the empty line.
func endHead(b []byte, r *Request, close bool) []byte {
	switch {
	case close:
		b = append(b, "Connection: close\r\n"...)
	case r != nil && r.Wire != nil && !r.Wire.ProtoAtLeast(1, 1):
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	return append(b, "\r\n"...)
}

// wantsClose says whether the connection ends after answering r.
func wantsClose(r *Request) bool {
	return r == nil || r.Err != nil || r.Wire == nil || r.Wire.Close
}

func isHead(r *Request) bool { return r != nil && r.Wire != nil && r.Wire.Method == "HEAD" }

// errorResponse is a short HTML page saying what went wrong.
func (s *Server) errorResponse(r *Request, status int, reason string, close bool) Response {
	text := strconv.Itoa(status) + " " + http.StatusText(status)
	page := []byte("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + text +
		"</title></head>\n<body><h1>" + text + "</h1>\n<p>" + html.EscapeString(reason) + "</p>\n<hr><p>" + ServerName + "</p></body></html>\n")
	b := s.startHead(status, 64)
	b = http.AppendField(b, "Content-Type", "text/html; charset=utf-8")
	b = http.AppendIntField(b, "Content-Length", int64(len(page)))
	b = append(b, "Cache-Control: no-store\r\n"...)
	if status == http.StatusMethodNotAllowed {
		b = append(b, "Allow: "+allowed+"\r\n"...)
	}
	b = endHead(b, r, close)
	if isHead(r) {
		page = nil
	}
	return Response{Status: status, head: b, data: page, close: close, req: r}
}
