package http

import "bytes"

// Frame is one request cut from the byte stream: its parsed head and, once
// it has all arrived, its body. A Frame with Err set is the last one the
// framer produces.
type Frame struct {
	// Req is the parsed head; nil when Err came before the head was parsed.
	Req *Request
	// Body is the decoded body when the framer keeps bodies; nil otherwise.
	Body []byte
	// BodyLen is the decoded body's length, kept or not.
	BodyLen int64
	// Err, an *Error, says the stream broke here: answer Err.Status and close.
	Err *Error
}

type framerState uint8

const (
	framingHead framerState = iota
	framingBody
	framingChunked
	framingFailed
)

// RequestFramer cuts a byte stream into requests: it finds each head's end
// (CRLFCRLF, or bare LFs), enforces the head limits (414, 431), parses the
// head (it has to: the body length is in the fields), then reads the body by
// Content-Length or chunked coding, keeping or discarding it. Every complete
// request found in one Feed comes out in one batch, so pipelined requests
// travel together. Empty lines before a request line are skipped (RFC 9112
// §2.2). A RequestFramer is used by one goroutine.
type RequestFramer struct {
	lim       Limits
	keep      bool
	state     framerState
	head      []byte // the start of a head whose end has not arrived
	scanned   int    // bytes of head already searched
	lineStart int    // where the current line of head starts
	lines     int    // complete lines of head so far
	cur       Frame  // request whose body is being read
	remaining int64  // Content-Length bytes still to read
	chunks    *ChunkedDecoder
}

// NewRequestFramer returns a framer bounded by lim; keepBodies says whether
// bodies are kept in Frame.Body (a proxy) or read and dropped (a file
// server).
func NewRequestFramer(lim Limits, keepBodies bool) *RequestFramer {
	return &RequestFramer{lim: lim.WithDefaults(), keep: keepBodies}
}

// Failed reports whether the framer produced an error frame and stopped.
func (f *RequestFramer) Failed() bool { return f.state == framingFailed }

// Partial reports whether part of a request has arrived but not all of it:
// a client that stops here is slow, not idle.
func (f *RequestFramer) Partial() bool {
	return f.state == framingBody || f.state == framingChunked || len(f.head) > 0
}

// Feed appends to batch every request that data completes. Bytes of an
// incomplete request are kept for the next Feed. After an error frame Feed
// returns batch unchanged.
func (f *RequestFramer) Feed(batch []Frame, data []byte) []Frame {
	for len(data) > 0 && f.state != framingFailed {
		switch f.state {
		case framingHead:
			batch, data = f.feedHead(batch, data)
		case framingBody:
			n := int(min(f.remaining, int64(len(data))))
			if f.keep {
				f.cur.Body = append(f.cur.Body, data[:n]...)
			}
			f.remaining -= int64(n)
			data = data[n:]
			if f.remaining == 0 {
				batch = f.emit(batch)
			}
		case framingChunked:
			var n int
			var err error
			f.cur.Body, n, err = f.chunks.Feed(f.cur.Body, data, f.keep)
			data = data[n:]
			if err != nil {
				return f.fail(batch, err.(*Error))
			}
			if f.chunks.Done() {
				f.cur.BodyLen = f.chunks.Total()
				batch = f.emit(batch)
			}
		}
	}
	return batch
}

func (f *RequestFramer) emit(batch []Frame) []Frame {
	batch = append(batch, f.cur)
	f.cur, f.chunks, f.state = Frame{}, nil, framingHead
	return batch
}

func (f *RequestFramer) fail(batch []Frame, err *Error) []Frame {
	f.cur.Err = err
	batch = append(batch, f.cur)
	f.cur, f.head, f.chunks, f.state = Frame{}, nil, nil, framingFailed
	return batch
}

// feedHead looks for the end of a head in the buffered bytes plus data, and
// returns what data is left after it.
func (f *RequestFramer) feedHead(batch []Frame, data []byte) ([]Frame, []byte) {
	b := data
	if len(f.head) > 0 {
		b = append(f.head, data...)
	}
	if f.lines == 0 {
		if nb := skipEmptyLines(b); len(nb) != len(b) {
			b, f.scanned = nb, 0
		}
		if len(b) == 0 {
			f.head = nil
			return batch, nil
		}
	}
	end, blank, err := f.scan(b)
	if err != nil {
		return f.fail(batch, err), nil
	}
	if end < 0 {
		f.head = append(f.head[:0], b...) // b may alias data: keep a copy
		return batch, nil
	}
	f.head, f.scanned, f.lineStart, f.lines = nil, 0, 0, 0
	req, perr := ParseRequestHead(b[:blank], f.lim)
	if perr != nil {
		return f.fail(batch, perr.(*Error)), nil
	}
	f.cur = Frame{Req: req}
	switch {
	case req.Chunked:
		f.state, f.chunks = framingChunked, NewChunkedDecoder(f.lim)
	case req.ContentLength > f.lim.MaxBodyBytes:
		return f.fail(batch, errorf(StatusContentTooLarge, "body of %d bytes is over %d", req.ContentLength, f.lim.MaxBodyBytes)), nil
	case req.ContentLength > 0:
		f.state, f.remaining, f.cur.BodyLen = framingBody, req.ContentLength, req.ContentLength
		if f.keep {
			f.cur.Body = make([]byte, 0, req.ContentLength)
		}
	default:
		batch = f.emit(batch)
	}
	return batch, b[end:]
}

// scan searches b from where the last scan stopped for the empty line ending
// the head. It returns the head's end (after the empty line) and where the
// empty line starts, or end -1 when more bytes are needed.
func (f *RequestFramer) scan(b []byte) (end, blank int, err *Error) {
	for f.scanned < len(b) {
		i := bytes.IndexByte(b[f.scanned:], '\n')
		if i < 0 {
			f.scanned = len(b)
			break
		}
		nl := f.scanned + i
		line := b[f.lineStart : nl+1]
		f.scanned = nl + 1
		if f.lines == 0 && len(line) > f.lim.MaxRequestLine {
			return -1, 0, errorf(StatusURITooLong, "request line over %d bytes", f.lim.MaxRequestLine)
		}
		if nl+1 > f.lim.MaxHeaderBytes {
			return -1, 0, errorf(StatusRequestHeaderFieldsTooLarge, "header block over %d bytes", f.lim.MaxHeaderBytes)
		}
		if f.lines > 0 && (len(line) == 1 || len(line) == 2 && line[0] == '\r') {
			return nl + 1, f.lineStart, nil
		}
		f.lines++
		if f.lines > f.lim.MaxHeaders+1 {
			return -1, 0, errorf(StatusRequestHeaderFieldsTooLarge, "more than %d header fields", f.lim.MaxHeaders)
		}
		f.lineStart = nl + 1
	}
	if f.lines == 0 && len(b) > f.lim.MaxRequestLine {
		return -1, 0, errorf(StatusURITooLong, "request line over %d bytes", f.lim.MaxRequestLine)
	}
	if len(b) > f.lim.MaxHeaderBytes {
		return -1, 0, errorf(StatusRequestHeaderFieldsTooLarge, "header block over %d bytes", f.lim.MaxHeaderBytes)
	}
	return -1, 0, nil
}

// skipEmptyLines drops CRLFs and LFs before a request line.
func skipEmptyLines(b []byte) []byte {
	for len(b) > 0 {
		switch {
		case b[0] == '\n':
			b = b[1:]
		case b[0] == '\r' && len(b) > 1 && b[1] == '\n':
			b = b[2:]
		default:
			return b
		}
	}
	return b
}
