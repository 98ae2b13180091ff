package httpd

import (
	"context"
	"errors"
	"html"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"netstages/actors"
	"netstages/protocols/http"
)

// allowed is the Allow field of 405 and OPTIONS answers.
const allowed = "GET, HEAD, OPTIONS"

// HandlerStage decides every request's answer, in order. Files it opens
// are registered in files, so a connection that ends early closes them.
func (s *Server) HandlerStage(files *openFiles) actors.StepFunc[[]Request, []Response] {
	closed := false
	return func(ctx context.Context, reqs []Request, out *actors.Output[[]Response]) error {
		if closed {
			return actors.ErrFinished
		}
		resps := make([]Response, 0, len(reqs))
		for i := range reqs {
			resp := s.Answer(&reqs[i])
			if resp.file != nil && resp.file.file != nil && !files.add(resp.file) {
				resp.file.file.Close()
				return nil // the connection is gone
			}
			resps = append(resps, resp)
			if resp.close {
				closed = true
				break // nothing after a closing response is answered
			}
		}
		out.Send(resps)
		return nil
	}
}

// Answer decides the response to one request.
func (s *Server) Answer(r *Request) Response {
	if r.Err != nil {
		return s.errorResponse(r, r.Err.Status, r.Err.Reason, true)
	}
	close := wantsClose(r)
	switch r.Wire.Method {
	case "GET", "HEAD":
	case "OPTIONS":
		b := s.startHead(http.StatusNoContent, 0)
		b = append(b, "Allow: "+allowed+"\r\n"...)
		return Response{Status: http.StatusNoContent, head: endHead(b, r, close), close: close, req: r}
	case "POST", "PUT", "DELETE", "PATCH", "CONNECT", "TRACE":
		return s.errorResponse(r, http.StatusMethodNotAllowed, "this server only reads files: "+allowed, close)
	default:
		return s.errorResponse(r, http.StatusNotImplemented, "unknown method", close)
	}
	if r.Path == "" || r.Path == "*" {
		return s.errorResponse(r, http.StatusBadRequest, "this target form is for proxies and OPTIONS", close)
	}
	return s.serve(r, close)
}

// serve answers GET or HEAD for a path.
func (s *Server) serve(r *Request, close bool) Response {
	rel := strings.TrimPrefix(r.Path, "/")
	if rel == "" {
		rel = "."
	}
	if !s.cfg.ShowDotfiles && hasDotSegment(rel) {
		return s.errorResponse(r, http.StatusNotFound, "no such file", close)
	}
	if src, ok := s.cached(rel); ok {
		if r.Slash { // "file/" names a directory that is not there, as on Unix
			return s.errorResponse(r, http.StatusNotFound, "not a directory", close)
		}
		return s.serveFile(r, src, close)
	}
	f, err := s.open(rel)
	if err != nil {
		return s.openError(r, err, close)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return s.openError(r, err, close)
	}
	if fi.IsDir() {
		return s.serveDir(r, f, rel, close)
	}
	if !fi.Mode().IsRegular() || r.Slash {
		f.Close()
		return s.errorResponse(r, http.StatusNotFound, "not a directory or regular file", close)
	}
	return s.serveFile(r, fileSource(r.Path, f, fi), close)
}

// open opens rel below the root: through os.Root (no escape, even by a
// symlink) unless symlinks are followed. O_NONBLOCK keeps a FIFO from
// blocking the open; it means nothing for regular files.
func (s *Server) open(rel string) (*os.File, error) {
	if s.cfg.FollowSymlinks {
		return os.OpenFile(filepath.Join(s.rootDir, filepath.FromSlash(rel)), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	}
	return s.root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

func (s *Server) openError(r *Request, err error, close bool) Response {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return s.errorResponse(r, http.StatusForbidden, "permission denied", close)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ELOOP), isEscape(err):
		return s.errorResponse(r, http.StatusNotFound, "no such file", close)
	}
	return s.errorResponse(r, http.StatusInternalServerError, "cannot open the file", close)
}

// isEscape recognises os.Root's refusal of a path or link leading outside.
func isEscape(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes")
}

func hasDotSegment(rel string) bool {
	for seg := range strings.SplitSeq(rel, "/") {
		if len(seg) > 1 && seg[0] == '.' {
			return true
		}
	}
	return false
}

// serveDir redirects /dir to /dir/, serves index.html, or lists.
func (s *Server) serveDir(r *Request, dir *os.File, rel string, close bool) Response {
	if !r.Slash && r.Path != "/" {
		dir.Close()
		return s.redirect(r, r.Path+"/", close)
	}
	index := path.Join(rel, "index.html")
	if f, err := s.open(index); err == nil {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			dir.Close()
			return s.serveFile(r, fileSource(index, f, fi), close)
		}
		f.Close()
	}
	defer dir.Close()
	return s.listing(r, dir, close)
}

func (s *Server) redirect(r *Request, to string, close bool) Response {
	loc := escapePath(to)
	if r.Query != "" {
		loc += "?" + r.Query
	}
	// The query is the client's, raw: escape it for HTML (the Location
	// field keeps it as sent; the parser refused CR, LF and other CTLs).
	esc := html.EscapeString(loc)
	page := []byte("<!doctype html>\n<title>301 Moved Permanently</title>\n<p><a href=\"" + esc + "\">" + esc + "</a></p>\n")
	b := s.startHead(http.StatusMovedPermanently, len(loc))
	b = http.AppendField(b, "Location", loc)
	b = http.AppendField(b, "Content-Type", "text/html; charset=utf-8")
	b = http.AppendIntField(b, "Content-Length", int64(len(page)))
	b = endHead(b, r, close)
	if isHead(r) {
		page = nil
	}
	return Response{Status: http.StatusMovedPermanently, head: b, data: page, close: close, req: r}
}
