package httpd

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"netstages/protocols/http"
)

// maxListing is the most entries a directory listing shows.
const maxListing = 10000

// Entry is one line of a directory listing; the JSON listing is a list of
// these.
type Entry struct {
	Name    string    `json:"name"`  // file name, unescaped
	Dir     bool      `json:"dir"`   // a directory (or a link to one)
	Size    int64     `json:"size"`  // bytes (of the link itself for a symlink)
	ModTime time.Time `json:"mtime"` // UTC, whole seconds
}

// listing answers a directory without index.html: HTML5, or JSON when the
// client accepts application/json.
func (s *Server) listing(r *Request, dir *os.File, close bool) Response {
	des, err := dir.ReadDir(maxListing)
	if err != nil && len(des) == 0 && !isEOF(err) {
		return s.errorResponse(r, http.StatusInternalServerError, "cannot read the directory", close)
	}
	entries := make([]Entry, 0, len(des))
	for _, de := range des {
		if !s.cfg.ShowDotfiles && strings.HasPrefix(de.Name(), ".") {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue // gone since ReadDir
		}
		kind := fi
		if fi.Mode()&fs.ModeSymlink != 0 {
			if kind, err = s.statBelow(r.Path, de.Name()); err != nil {
				continue // leads outside the root, or nowhere: not served, not listed
			}
		}
		if !kind.IsDir() && !kind.Mode().IsRegular() {
			continue // FIFOs, sockets, devices are not served, so not listed
		}
		isDir := kind.IsDir()
		entries = append(entries, Entry{Name: de.Name(), Dir: isDir, Size: fi.Size(), ModTime: fi.ModTime().UTC().Truncate(time.Second)})
	}
	slices.SortFunc(entries, func(a, b Entry) int {
		if a.Dir != b.Dir {
			if a.Dir {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	var body []byte
	ctype := "text/html; charset=utf-8"
	if r.Wire.Header.HasToken("Accept", "application/json") {
		body, _ = json.Marshal(entries)
		body = append(body, '\n')
		ctype = "application/json"
	} else {
		body = listingHTML(r.Path, entries, len(des) == maxListing)
	}
	b := s.startHead(http.StatusOK, 64)
	b = http.AppendField(b, "Content-Type", ctype)
	b = http.AppendIntField(b, "Content-Length", int64(len(body)))
	b = append(b, "Cache-Control: no-cache\r\nVary: Accept\r\n"...)
	b = endHead(b, r, close)
	if isHead(r) {
		body = nil
	}
	return Response{Status: http.StatusOK, head: b, data: body, close: close, req: r}
}

// statBelow stats a listed symlink's target under the same rules as open.
func (s *Server) statBelow(dir, name string) (fs.FileInfo, error) {
	f, err := s.open(strings.TrimPrefix(path.Join(dir, name), "/"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Stat()
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// listingHTML renders a valid HTML5 page: parent link, folders first, size
// in human units, modification time; names escaped, links percent-encoded.
func listingHTML(dirPath string, entries []Entry, truncated bool) []byte {
	if !strings.HasSuffix(dirPath, "/") {
		dirPath += "/"
	}
	title := html.EscapeString("Index of " + dirPath)
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
	b.WriteString(title)
	b.WriteString("</title>\n<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}" +
		"td,th{padding:.2em 1.2em .2em 0;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}" +
		"a{text-decoration:none}a:hover{text-decoration:underline}</style>\n</head>\n<body>\n<h1>")
	b.WriteString(title)
	b.WriteString("</h1>\n<table>\n<thead><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr></thead>\n<tbody>\n")
	if dirPath != "/" {
		b.WriteString("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n")
	}
	for _, e := range entries {
		href, name, size := "./"+url.PathEscape(e.Name), html.EscapeString(e.Name), humanSize(e.Size)
		if e.Dir {
			href, name, size = href+"/", name+"/", "-"
		}
		fmt.Fprintf(&b, "<tr><td><a href=\"%s\">%s</a></td><td class=\"n\">%s</td><td>%s</td></tr>\n",
			html.EscapeString(href), name, size, e.ModTime.Format("2006-01-02 15:04"))
	}
	b.WriteString("</tbody>\n</table>\n")
	if truncated {
		fmt.Fprintf(&b, "<p>Only the first %d entries are listed.</p>\n", maxListing)
	}
	b.WriteString("</body>\n</html>\n")
	return []byte(b.String())
}

// humanSize prints bytes in binary units: 512 B, 1.5 KiB, 10.0 MiB.
func humanSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f /= 1024
		if f < 1024 || unit == "TiB" {
			return fmt.Sprintf("%.1f %s", f, unit)
		}
	}
	return ""
}

// escapePath percent-encodes a path for a Location field.
func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}
