package httpd

import (
	"hash/fnv"
	"io"
	"mime"
	nethttp "net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"netstages/protocols/http"
)

// maxRanges is the most ranges one request may ask for; more are ignored
// and the whole file is sent (RFC 9110 §14.2 lets a server ignore Range).
const maxRanges = 16

// source is what a file response is made from: an open file, or the bytes
// of a small file from the cache, with its validators and type.
type source struct {
	file  *os.File // nil when mem holds the bytes
	mem   []byte
	size  int64
	mod   time.Time
	etag  string
	ctype string
}

func (src source) close() {
	if src.file != nil {
		src.file.Close()
	}
}

// fileSource describes an open regular file.
func fileSource(name string, f *os.File, fi os.FileInfo) source {
	return source{file: f, size: fi.Size(), mod: fi.ModTime(), etag: makeETag(fi.ModTime(), fi.Size()),
		ctype: contentType(name, func() []byte {
			var buf [512]byte
			n, _ := f.ReadAt(buf[:], 0)
			return buf[:n]
		})}
}

// serveFile answers GET or HEAD for a regular file: validators,
// conditionals (RFC 9110 §13.2.2, in its order), then ranges.
func (s *Server) serveFile(r *Request, src source, close bool) Response {
	size, mod, etag, ctype := src.size, src.mod, src.etag, src.ctype
	h := r.Wire.Header
	if status := preconditions(h, r.Wire.Method, etag, mod); status != 0 {
		src.close()
		if status == http.StatusPreconditionFailed {
			return s.errorResponse(r, status, "precondition failed", close)
		}
		b := s.startHead(http.StatusNotModified, 64)
		b = appendValidators(b, etag, mod)
		b = http.AppendIntField(b, "Content-Length", size)
		return Response{Status: http.StatusNotModified, head: endHead(b, r, close), close: close, req: r}
	}
	ranges, unsatisfiable := s.ranges(r, etag, mod, size)
	switch {
	case unsatisfiable:
		src.close()
		resp := s.errorResponse(r, http.StatusRangeNotSatisfiable, "the range is outside the file", close)
		resp.head = insertField(resp.head, "Content-Range: bytes */"+strconv.FormatInt(size, 10))
		return resp
	case len(ranges) == 1:
		b := s.startHead(http.StatusPartialContent, 128)
		b = appendValidators(b, etag, mod)
		b = http.AppendField(b, "Content-Type", ctype)
		b = http.AppendField(b, "Content-Range", ranges[0].contentRange(size))
		b = http.AppendIntField(b, "Content-Length", ranges[0].n)
		return s.fileResponse(r, http.StatusPartialContent, b, src, []section{{off: ranges[0].off, n: ranges[0].n}}, nil, close)
	case len(ranges) > 1:
		return s.multipart(r, src, ranges, close)
	}
	b := s.startHead(http.StatusOK, 128)
	b = appendValidators(b, etag, mod)
	b = http.AppendField(b, "Content-Type", ctype)
	b = http.AppendIntField(b, "Content-Length", size)
	return s.fileResponse(r, http.StatusOK, b, src, []section{{n: size}}, nil, close)
}

func (s *Server) fileResponse(r *Request, status int, b []byte, src source, parts []section, tail []byte, close bool) Response {
	b = append(b, "Accept-Ranges: bytes\r\n"...)
	b = endHead(b, r, close)
	resp := Response{Status: status, head: b, close: close, req: r}
	if isHead(r) {
		src.close()
		return resp
	}
	resp.file = &fileBody{file: src.file, mem: src.mem, parts: parts, tail: tail}
	return resp
}

// multipart sends several ranges as multipart/byteranges (RFC 9110 §14.6).
func (s *Server) multipart(r *Request, src source, ranges []byteRange, close bool) Response {
	etag, mod, ctype, size := src.etag, src.mod, src.ctype, src.size
	boundary := makeBoundary(etag, r.Wire.Header.Get("Range"))
	parts := make([]section, len(ranges))
	for i, rg := range ranges {
		prefix := "\r\n--" + boundary + "\r\nContent-Type: " + ctype + "\r\nContent-Range: " + rg.contentRange(size) + "\r\n\r\n"
		if i == 0 {
			prefix = prefix[2:] // no CRLF before the first boundary
		}
		parts[i] = section{prefix: []byte(prefix), off: rg.off, n: rg.n}
	}
	tail := []byte("\r\n--" + boundary + "--\r\n")
	body := &fileBody{parts: parts, tail: tail}
	b := s.startHead(http.StatusPartialContent, 128)
	b = appendValidators(b, etag, mod)
	b = http.AppendField(b, "Content-Type", "multipart/byteranges; boundary="+boundary)
	b = http.AppendIntField(b, "Content-Length", body.length())
	return s.fileResponse(r, http.StatusPartialContent, b, src, parts, tail, close)
}

// makeBoundary derives a boundary from the validator and the Range asked
// for: no randomness needed, and a file's bytes cannot know it in advance
// any better than a random one.
func makeBoundary(etag, rng string) string {
	h := fnv.New64a()
	io.WriteString(h, etag)
	io.WriteString(h, rng)
	return "netstages-" + strconv.FormatUint(h.Sum64(), 36)
}

func appendValidators(b []byte, etag string, mod time.Time) []byte {
	b = http.AppendField(b, "ETag", etag)
	b = append(b, "Last-Modified: "...)
	b = http.AppendTime(b, mod)
	return append(b, "\r\n"...)
}

// insertField adds a field to a finished head, before its empty line.
func insertField(head []byte, field string) []byte {
	end := len(head) - 2
	out := make([]byte, 0, len(head)+len(field)+2)
	out = append(out, head[:end]...)
	out = append(out, field...)
	out = append(out, "\r\n\r\n"...)
	return out
}

// makeETag is a strong validator from the modification time (ns) and size,
// as nginx makes it.
func makeETag(mod time.Time, size int64) string {
	b := make([]byte, 0, 32)
	b = append(b, '"')
	b = strconv.AppendInt(b, mod.UnixNano(), 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, size, 16)
	return string(append(b, '"'))
}

// preconditions evaluates If-Match, If-Unmodified-Since, If-None-Match and
// If-Modified-Since in RFC 9110 §13.2.2's order; it returns 412, 304 or 0.
func preconditions(h http.Header, method, etag string, mod time.Time) int {
	mod = mod.Truncate(time.Second)
	if im := h.Get("If-Match"); im != "" {
		if !etagMatch(im, etag, false) {
			return http.StatusPreconditionFailed
		}
	} else if ius := h.Get("If-Unmodified-Since"); ius != "" {
		if t, ok := http.ParseTime(ius); ok && mod.After(t) {
			return http.StatusPreconditionFailed
		}
	}
	if inm := h.Get("If-None-Match"); inm != "" {
		if etagMatch(inm, etag, true) {
			return http.StatusNotModified
		}
		return 0
	}
	if ims := h.Get("If-Modified-Since"); ims != "" {
		if t, ok := http.ParseTime(ims); ok && !mod.After(t) {
			return http.StatusNotModified
		}
	}
	return 0
}

// etagMatch reports whether list ("*" or entity-tags, comma-separated)
// matches etag, by weak or strong comparison (RFC 9110 §8.8.3.2).
func etagMatch(list, etag string, weak bool) bool {
	if strings.TrimSpace(list) == "*" {
		return true
	}
	for t := range strings.SplitSeq(list, ",") {
		t = strings.TrimSpace(t)
		if w, ok := strings.CutPrefix(t, "W/"); ok {
			if !weak {
				continue
			}
			t = w
		}
		if t == etag {
			return true
		}
	}
	return false
}

// byteRange is one satisfiable range: n bytes from off.
type byteRange struct{ off, n int64 }

func (r byteRange) contentRange(size int64) string {
	return "bytes " + strconv.FormatInt(r.off, 10) + "-" + strconv.FormatInt(r.off+r.n-1, 10) + "/" + strconv.FormatInt(size, 10)
}

// ranges applies Range and If-Range to a GET: nil when the whole file is
// sent, unsatisfiable when no range overlaps the file.
func (s *Server) ranges(r *Request, etag string, mod time.Time, size int64) ([]byteRange, bool) {
	h := r.Wire.Header
	spec := h.Get("Range")
	if spec == "" || r.Wire.Method != "GET" {
		return nil, false
	}
	if ir := h.Get("If-Range"); ir != "" && !ifRangeHolds(ir, etag, mod) {
		return nil, false
	}
	return parseRange(spec, size)
}

// ifRangeHolds: an entity-tag must match strongly; a date must equal
// Last-Modified exactly (RFC 9110 §13.1.5).
func ifRangeHolds(v, etag string, mod time.Time) bool {
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "W/") {
		return v == etag
	}
	t, ok := http.ParseTime(v)
	return ok && t.Equal(mod.Truncate(time.Second))
}

// parseRange reads "bytes=a-b, a-, -n" (RFC 9110 §14.1.2). A malformed
// header or too many ranges is ignored (nil, false).
func parseRange(spec string, size int64) ([]byteRange, bool) {
	unit, set, ok := strings.Cut(spec, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return nil, false
	}
	var out []byteRange
	count := 0
	for item := range strings.SplitSeq(set, ",") {
		item = strings.Trim(item, " \t")
		if item == "" {
			continue
		}
		if count++; count > maxRanges {
			return nil, false
		}
		first, last, ok := strings.Cut(item, "-")
		if !ok {
			return nil, false
		}
		if first == "" { // suffix: the last n bytes
			n, ok := parseDigits(last)
			if !ok {
				return nil, false
			}
			if n > 0 && size > 0 {
				n = min(n, size)
				out = append(out, byteRange{off: size - n, n: n})
			}
			continue
		}
		a, ok := parseDigits(first)
		if !ok {
			return nil, false
		}
		b := size - 1
		if last != "" {
			if b, ok = parseDigits(last); !ok || b < a {
				return nil, false
			}
		}
		if a >= size {
			continue // this one is unsatisfiable
		}
		b = min(b, size-1)
		out = append(out, byteRange{off: a, n: b - a + 1})
	}
	if count == 0 {
		return nil, false
	}
	return out, len(out) == 0
}

func parseDigits(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// contentType is the MIME type by extension, charset=utf-8 for text, or
// sniffed from the first 512 bytes (from head) when the extension says
// nothing.
func contentType(name string, head func() []byte) string {
	t := mime.TypeByExtension(filepath.Ext(name))
	if t == "" {
		t = nethttp.DetectContentType(head())
	}
	if strings.HasPrefix(t, "text/") && !strings.Contains(t, "charset") {
		t += "; charset=utf-8"
	}
	return t
}
