package httpd_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	nethttp "net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/actors"
	"netstages/actors/bus"
	"netstages/protocols/httpd"
	"netstages/transport"
	"netstages/transport/mem"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// docroot makes the tree every test serves.
func docroot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"hello.txt":        "hello, world\n",
		"digits":           "0123456789",
		"page.html":        "<!doctype html><title>x</title>",
		"sub/index.html":   "<h1>sub</h1>\n",
		"list/b.txt":       "b",
		"list/a <&>.txt":   "a",
		"list/zdir/x":      "x",
		"list/.secret":     "s",
		".env":             "SECRET=1",
		"noext":            "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
		"dir with space/f": "f",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = byte(i % 251)
	}
	os.WriteFile(filepath.Join(dir, "big"), big, 0o644)
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink("hello.txt", filepath.Join(dir, "inside-link"))
	os.Symlink("/etc/passwd", filepath.Join(dir, "abs-link"))
	os.Symlink("../../../../../../etc/passwd", filepath.Join(dir, "rel-escape"))
	return dir
}

// served is a file server on a network, stopped by stop.
type served struct {
	addr  string
	srv   *actors.Server
	files *httpd.Server
	stop  func()
}

func serve(t *testing.T, network transport.Network, addr string, cfg httpd.Config) *served {
	t.Helper()
	files, err := httpd.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := network.Listen(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &actors.Server{Name: "httpd", Handle: files.Handler(), Refuse: files.Refuse, Grace: time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return &served{addr: ln.Addr().String(), srv: srv, files: files, stop: func() {
		srv.Shutdown()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		files.Close()
	}}
}

// exchange writes raw on a fresh connection and reads responses with
// net/http's parser until the server closes or n responses came.
func exchange(t *testing.T, network transport.Network, addr, raw string, methods ...string) ([]*nethttp.Response, []string) {
	t.Helper()
	c, err := network.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var resps []*nethttp.Response
	var bodies []string
	for i := 0; ; i++ {
		method := "GET"
		if i < len(methods) {
			method = methods[i]
		}
		resp, err := nethttp.ReadResponse(br, &nethttp.Request{Method: method})
		if err != nil {
			break
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		resps, bodies = append(resps, resp), append(bodies, string(body))
		if resp.Close || len(methods) > 0 && i == len(methods)-1 {
			break
		}
	}
	return resps, bodies
}

func get(path string, fields ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: t\r\n" + strings.Join(fields, "") + "Connection: close\r\n\r\n"
}

// inBubble runs f against a server on the mem network inside a synctest
// bubble: stages in their own goroutines and fused, and without the
// small-file cache.
func inBubble(t *testing.T, cfg httpd.Config, f func(t *testing.T, n *mem.Network, addr string)) {
	for _, mode := range []struct {
		fused bool
		cache int64
	}{{false, 0}, {true, 0}, {false, -1}} {
		t.Run(fmt.Sprintf("fused=%v,cache=%v", mode.fused, mode.cache == 0), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := cfg
				c.Fused = mode.fused
				if c.CacheBytes == 0 {
					c.CacheBytes = mode.cache
				}
				n := mem.NewNetwork(0)
				s := serve(t, n, "files:80", c)
				defer s.stop()
				f(t, n, s.addr)
			})
		})
	}
}

func TestFiles(t *testing.T) {
	root := docroot(t)
	inBubble(t, httpd.Config{Root: root}, func(t *testing.T, n *mem.Network, addr string) {
		cases := []struct {
			name, raw, method string
			status            int
			body              string
			fields            map[string]string
		}{
			{"file", get("/hello.txt"), "GET", 200, "hello, world\n", map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Length": "13", "Accept-Ranges": "bytes", "Server": "netstages-httpd"}},
			{"html", get("/page.html"), "GET", 200, "<!doctype html><title>x</title>", map[string]string{"Content-Type": "text/html; charset=utf-8"}},
			{"sniffed", get("/noext"), "GET", 200, "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", map[string]string{"Content-Type": "image/png"}},
			{"head", strings.Replace(get("/hello.txt"), "GET", "HEAD", 1), "HEAD", 200, "", map[string]string{"Content-Length": "13"}},
			{"big file", get("/big"), "GET", 200, "", map[string]string{"Content-Length": "102400"}},
			{"missing", get("/nope"), "GET", 404, "", map[string]string{"Content-Type": "text/html; charset=utf-8"}},
			{"file with a slash", get("/hello.txt/"), "GET", 404, "", nil},
			{"FIFO neither blocks nor serves", get("/fifo"), "GET", 404, "", nil},
			{"big file with a slash", get("/big/"), "GET", 404, "", nil},
			{"dir redirect", get("/sub?x=1"), "GET", 301, "", map[string]string{"Location": "/sub/?x=1"}},
			{"redirect escaped", get("/dir%20with%20space"), "GET", 301, "", map[string]string{"Location": "/dir%20with%20space/"}},
			{"index", get("/sub/"), "GET", 200, "<h1>sub</h1>\n", nil},
			{"dotfile hidden", get("/.env"), "GET", 404, "", nil},
			{"dotfile in dir hidden", get("/list/.secret"), "GET", 404, "", nil},
			{"traversal", get("/../../../etc/passwd"), "GET", 404, "", nil},
			{"encoded traversal", get("/%2e%2e/%2e%2e/etc/passwd"), "GET", 404, "", nil},
			{"encoded slash", get("/sub%2findex.html"), "GET", 200, "<h1>sub</h1>\n", nil},
			{"dot segments stay inside", get("/sub/../hello.txt"), "GET", 200, "hello, world\n", nil},
			{"backslash", get("/..%5c..%5cetc/passwd"), "GET", 400, "", nil},
			{"NUL", get("/hello.txt%00.html"), "GET", 400, "", nil},
			{"bad escape", get("/%zz"), "GET", 400, "", nil},
			{"symlink inside", get("/inside-link"), "GET", 200, "hello, world\n", nil},
			{"absolute symlink", get("/abs-link"), "GET", 404, "", nil},
			{"escaping symlink", get("/rel-escape"), "GET", 404, "", nil},
			{"absolute-form", "GET http://t/hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "GET", 200, "hello, world\n", nil},
			{"options", "OPTIONS * HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "OPTIONS", 204, "", map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
			{"post", "POST /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi", "POST", 405, "", map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
			{"unknown method", "BREW /pot HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "GET", 501, "", nil},
		}
		for _, c := range cases {
			is := is.New(t)
			resps, bodies := exchange(t, n, addr, c.raw, c.method)
			is.Equal(len(resps), 1)                 // one response
			is.Equal(resps[0].StatusCode, c.status) // c.name
			if c.body != "" {
				is.Equal(bodies[0], c.body) // c.name
			}
			if c.status >= 400 {
				is.True(strings.Contains(bodies[0], "<h1>")) // short HTML error page
			}
			for k, v := range c.fields {
				is.Equal(resps[0].Header.Get(k), v) // c.name: field k
			}
			is.True(resps[0].Header.Get("Date") != "") // Date on every response
		}
	})
}

func TestListing(t *testing.T) {
	root := docroot(t)
	inBubble(t, httpd.Config{Root: root}, func(t *testing.T, n *mem.Network, addr string) {
		is := is.New(t)
		resps, bodies := exchange(t, n, addr, get("/list/"))
		is.Equal(resps[0].StatusCode, 200)
		page := bodies[0]
		is.True(strings.HasPrefix(page, "<!doctype html>"))
		is.True(strings.Contains(page, `<a href="../">../</a>`))                                   // parent link
		is.True(strings.Contains(page, `<a href="./a%20%3C&amp;%3E.txt">a &lt;&amp;&gt;.txt</a>`)) // escaped name, encoded link
		is.True(!strings.Contains(page, ".secret"))                                                // dotfiles unlisted
		is.True(strings.Index(page, "zdir/") < strings.Index(page, "b.txt"))                       // folders first
		is.True(strings.Contains(page, "1 B"))                                                     // human size

		resps, bodies = exchange(t, n, addr, get("/list/", "Accept: application/json\r\n"))
		is.Equal(resps[0].Header.Get("Content-Type"), "application/json")
		var entries []httpd.Entry
		is.NoErr(json.Unmarshal([]byte(bodies[0]), &entries))
		is.Equal(len(entries), 3)
		is.Equal(entries[0].Name, "zdir")
		is.True(entries[0].Dir)
		is.Equal(entries[1].Name, "a <&>.txt")

		resps, bodies = exchange(t, n, addr, get("/"))
		is.True(!strings.Contains(bodies[0], "abs-link"))   // links leading outside are not listed
		is.True(!strings.Contains(bodies[0], "fifo"))       // nor what is not served
		is.True(strings.Contains(bodies[0], "inside-link")) // links inside are
		is.True(!strings.Contains(bodies[0], `href="../"`)) // no parent at the root
		is.Equal(resps[0].StatusCode, 200)
	})
}

func TestDotfilesAndSymlinksWhenAllowed(t *testing.T) {
	root := docroot(t)
	inBubble(t, httpd.Config{Root: root, ShowDotfiles: true, FollowSymlinks: true}, func(t *testing.T, n *mem.Network, addr string) {
		is := is.New(t)
		resps, bodies := exchange(t, n, addr, get("/.env"))
		is.Equal(resps[0].StatusCode, 200)
		is.Equal(bodies[0], "SECRET=1")
		resps, _ = exchange(t, n, addr, get("/abs-link"))
		is.Equal(resps[0].StatusCode, 200) // -follow-symlinks follows it out
		resps, _ = exchange(t, n, addr, get("/%2e%2e/%2e%2e/etc/passwd"))
		is.Equal(resps[0].StatusCode, 404) // but ".." still never climbs out
	})
}

func TestConditionalsAndRanges(t *testing.T) {
	root := docroot(t)
	inBubble(t, httpd.Config{Root: root}, func(t *testing.T, n *mem.Network, addr string) {
		is := is.New(t)
		resps, _ := exchange(t, n, addr, get("/digits"))
		etag, lastMod := resps[0].Header.Get("ETag"), resps[0].Header.Get("Last-Modified")
		is.True(strings.HasPrefix(etag, `"`)) // strong ETag
		is.True(lastMod != "")

		cases := []struct {
			name, field string
			status      int
			body        string
			cr          string
		}{
			{"If-None-Match", "If-None-Match: " + etag + "\r\n", 304, "", ""},
			{"If-None-Match weak", "If-None-Match: W/" + etag + "\r\n", 304, "", ""},
			{"If-None-Match other", "If-None-Match: \"x\"\r\n", 200, "0123456789", ""},
			{"If-Modified-Since", "If-Modified-Since: " + lastMod + "\r\n", 304, "", ""},
			{"If-Modified-Since old", "If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT\r\n", 200, "0123456789", ""},
			{"INM wins over IMS", "If-None-Match: \"x\"\r\nIf-Modified-Since: " + lastMod + "\r\n", 200, "0123456789", ""},
			{"If-Match fails", "If-Match: \"x\"\r\n", 412, "", ""},
			{"range a-b", "Range: bytes=2-4\r\n", 206, "234", "bytes 2-4/10"},
			{"range a-", "Range: bytes=7-\r\n", 206, "789", "bytes 7-9/10"},
			{"range -n", "Range: bytes=-2\r\n", 206, "89", "bytes 8-9/10"},
			{"range past end clipped", "Range: bytes=8-100\r\n", 206, "89", "bytes 8-9/10"},
			{"unsatisfiable", "Range: bytes=20-30\r\n", 416, "", "bytes */10"},
			{"malformed ignored", "Range: bytes=x-y\r\n", 200, "0123456789", ""},
			{"other unit ignored", "Range: lines=1-2\r\n", 200, "0123456789", ""},
			{"If-Range matches", "Range: bytes=0-0\r\nIf-Range: " + etag + "\r\n", 206, "0", "bytes 0-0/10"},
			{"If-Range stale", "Range: bytes=0-0\r\nIf-Range: \"old\"\r\n", 200, "0123456789", ""},
			{"If-Range date", "Range: bytes=0-0\r\nIf-Range: " + lastMod + "\r\n", 206, "0", "bytes 0-0/10"},
		}
		for _, c := range cases {
			resps, bodies := exchange(t, n, addr, get("/digits", c.field))
			is.Equal(resps[0].StatusCode, c.status) // c.name
			if c.body != "" {
				is.Equal(bodies[0], c.body) // c.name
			}
			is.Equal(resps[0].Header.Get("Content-Range"), c.cr) // c.name
			if c.status == 304 {
				is.Equal(resps[0].Header.Get("ETag"), etag) // validators on 304
			}
		}

		resps, bodies := exchange(t, n, addr, get("/digits", "Range: bytes=0-1, 5-6, -1\r\n"))
		is.Equal(resps[0].StatusCode, 206)
		ctype := resps[0].Header.Get("Content-Type")
		is.True(strings.HasPrefix(ctype, "multipart/byteranges; boundary="))
		boundary := strings.TrimPrefix(ctype, "multipart/byteranges; boundary=")
		parts := strings.Split(bodies[0], "--"+boundary)
		is.Equal(len(parts), 5) // "", three parts, "--\r\n"
		is.True(strings.Contains(parts[1], "Content-Range: bytes 0-1/10\r\n\r\n01\r\n"))
		is.True(strings.Contains(parts[2], "Content-Range: bytes 5-6/10\r\n\r\n56\r\n"))
		is.True(strings.Contains(parts[3], "Content-Range: bytes 9-9/10\r\n\r\n9\r\n"))
		is.Equal(parts[4], "--\r\n")
		is.Equal(resps[0].ContentLength, int64(len(bodies[0]))) // Content-Length is exact
	})
}

func TestMalformedRequests(t *testing.T) {
	root := docroot(t)
	inBubble(t, httpd.Config{Root: root}, func(t *testing.T, n *mem.Network, addr string) {
		cases := []struct {
			name, raw string
			status    int
		}{
			{"garbage line", "HELLO\r\n\r\n", 400},
			{"no Host", "GET / HTTP/1.1\r\n\r\n", 400},
			{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
			{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
			{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", 400},
			{"long target", "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
			{"big head", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("b", 40000) + "\r\n\r\n", 431},
			{"many fields", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", 120) + "\r\n", 431},
			{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
			{"unknown coding", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
			{"smuggling CL+TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n", 400},
			{"smuggling two CL", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n", 400},
			{"smuggling TE in 1.0", "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
			{"smuggling TE with space", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400},
			{"bad chunk size", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
			{"body too large", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999\r\n\r\n", 413},
		}
		for _, c := range cases {
			is := is.New(t)
			resps, bodies := exchange(t, n, addr, c.raw)
			is.Equal(len(resps), 1)                 // one answer, nothing after it: c.name
			is.Equal(resps[0].StatusCode, c.status) // c.name
			is.True(resps[0].Close)                 // and the connection closes
			is.True(strings.Contains(bodies[0], "<h1>"))
		}
	})
}

func TestKeepAlivePipeliningAndBodies(t *testing.T) {
	root := docroot(t)
	inBubble(t, httpd.Config{Root: root}, func(t *testing.T, n *mem.Network, addr string) {
		is := is.New(t)
		raw := "GET /digits HTTP/1.1\r\nHost: a\r\n\r\n" +
			"GET /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" + // body read and dropped
			"GET /digits HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
			"HEAD /big HTTP/1.1\r\nHost: a\r\n\r\n" +
			"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n" +
			"GET /digits HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" +
			"GET /never HTTP/1.1\r\nHost: a\r\n\r\n"
		resps, bodies := exchange(t, n, addr, raw, "GET", "GET", "GET", "HEAD", "GET", "GET", "GET")
		is.Equal(len(resps), 6) // answered in order up to Connection: close, nothing after
		want := []int{200, 200, 200, 200, 404, 200}
		for i, r := range resps {
			is.Equal(r.StatusCode, want[i])
		}
		is.Equal(bodies[1], "hello, world\n")
		is.Equal(bodies[3], "")                         // HEAD: no body
		is.Equal(resps[3].ContentLength, int64(102400)) // but its length
		is.True(!resps[4].Close)                        // a 404 keeps the connection
		is.True(resps[5].Close)

		// HTTP/1.0: closes by default, stays with keep-alive.
		resps, _ = exchange(t, n, addr, "GET /digits HTTP/1.0\r\n\r\nGET /digits HTTP/1.0\r\n\r\n")
		is.Equal(len(resps), 1)
		is.True(resps[0].Close)
		resps, _ = exchange(t, n, addr, "GET /digits HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /digits HTTP/1.0\r\n\r\n")
		is.Equal(len(resps), 2)
		is.Equal(resps[0].Header.Get("Connection"), "keep-alive")
	})
}

func TestSlowHeadersGet408AndIdleConnectionsClose(t *testing.T) {
	root := docroot(t)
	inBubble(t, httpd.Config{Root: root, ReadHeaderTimeout: 2 * time.Second, IdleTimeout: 5 * time.Second}, func(t *testing.T, n *mem.Network, addr string) {
		is := is.New(t)
		c, err := n.DialContext(context.Background(), "tcp", addr)
		is.NoErr(err)
		defer c.Close()
		start := time.Now()
		io.WriteString(c, "GET /digits HTTP/1.1\r\nHost: a\r\n\r\nGET /dig") // one request, then half of one
		br := bufio.NewReader(c)
		resp, err := nethttp.ReadResponse(br, nil)
		is.NoErr(err)
		is.Equal(resp.StatusCode, 200)
		io.Copy(io.Discard, resp.Body)
		resp, err = nethttp.ReadResponse(br, nil)
		is.NoErr(err)
		is.Equal(resp.StatusCode, 408) // the half request timed out
		is.True(resp.Close)
		elapsed := time.Since(start)
		is.True(elapsed >= 2*time.Second && elapsed < 3*time.Second) // after -read-header-timeout (fake clock)

		idle, err := n.DialContext(context.Background(), "tcp", addr)
		is.NoErr(err)
		defer idle.Close()
		start = time.Now()
		rest, err := io.ReadAll(idle)
		is.NoErr(err)
		is.Equal(len(rest), 0)                     // an idle connection closes quietly
		is.Equal(time.Since(start), 5*time.Second) // after -idle-timeout (fake clock)
	})
}

func TestAccessLogEvents(t *testing.T) {
	root := docroot(t)
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		events := bus.New(bus.Options{})
		var log strings.Builder
		access, err := bus.NewAccessLog(events, &log, bus.FormatCombined)
		is.NoErr(err)
		ctx, cancel := context.WithCancel(context.Background())
		busDone := make(chan error, 1)
		go func() { busDone <- events.Run(ctx) }()
		logDone := make(chan error, 1)
		go func() { logDone <- access.Run() }()
		n := mem.NewNetwork(0)
		s := serve(t, n, "files:80", httpd.Config{Root: root, Bus: events})
		exchange(t, n, s.addr, "GET /digits HTTP/1.1\r\nHost: a\r\nUser-Agent: tester\r\nReferer: http://r/\r\nConnection: close\r\n\r\n")
		exchange(t, n, s.addr, "BAD\r\n\r\n")
		s.stop()
		synctest.Wait()
		events.Close()
		cancel()
		<-busDone
		<-logDone
		lines := strings.Split(strings.TrimSpace(log.String()), "\n")
		is.Equal(len(lines), 2) // every response logged, errors too
		is.True(strings.Contains(lines[0], `"GET /digits HTTP/1.1" 200 10 "http://r/" "tester"`))
		is.True(strings.Contains(lines[1], `"- - -" 400`))
	})
}

func TestRefuseOverMaxConns(t *testing.T) {
	root := docroot(t)
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n := mem.NewNetwork(0)
		files, err := httpd.New(httpd.Config{Root: root}, nil)
		is.NoErr(err)
		defer files.Close()
		ln, _ := n.Listen(context.Background(), "tcp", "files:80")
		srv := &actors.Server{Name: "httpd", Handle: files.Handler(), Refuse: files.Refuse, MaxConns: 1}
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ln) }()
		first, _ := n.DialContext(context.Background(), "tcp", "files:80")
		defer first.Close()
		synctest.Wait()
		second, err := n.DialContext(context.Background(), "tcp", "files:80")
		is.NoErr(err)
		defer second.Close()
		resp, err := nethttp.ReadResponse(bufio.NewReader(second), nil)
		is.NoErr(err)
		is.Equal(resp.StatusCode, 503) // over -max-conns, answered without reading
		is.True(resp.Close)
		srv.Shutdown()
		is.NoErr(<-done)
	})
}

func TestGraph(t *testing.T) {
	is := is.New(t)
	files, err := httpd.New(httpd.Config{Root: t.TempDir()}, nil)
	is.NoErr(err)
	defer files.Close()
	var names []string
	g := files.Graph()
	for _, n := range g.Nodes {
		names = append(names, n.Name)
	}
	is.Equal(strings.Join(names, " → "), "reader → framer → parser → handler → writer")
	is.Equal(g.Edges[1].Type, "[]http.Frame")
}

func TestCacheSeesChanges(t *testing.T) {
	root := docroot(t)
	inBubble(t, httpd.Config{Root: root}, func(t *testing.T, n *mem.Network, addr string) {
		is := is.New(t)
		p := filepath.Join(root, "changing.txt")
		is.NoErr(os.WriteFile(p, []byte("one"), 0o644))
		_, bodies := exchange(t, n, addr, get("/changing.txt"))
		is.Equal(bodies[0], "one")
		_, bodies = exchange(t, n, addr, get("/changing.txt"))
		is.Equal(bodies[0], "one") // from the cache now
		is.NoErr(os.WriteFile(p+".new", []byte("two!"), 0o644))
		is.NoErr(os.Rename(p+".new", p)) // replaced: another inode
		_, bodies = exchange(t, n, addr, get("/changing.txt"))
		is.Equal(bodies[0], "two!") // never stale
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		is.NoErr(err)
		_, err = f.WriteAt([]byte("TWO"), 0) // same inode, same size
		is.NoErr(err)
		f.Close()
		os.Chtimes(p, time.Now(), time.Now().Add(time.Hour)) // mtime moves (fake clock in the bubble)
		_, bodies = exchange(t, n, addr, get("/changing.txt"))
		is.Equal(bodies[0], "TWO!")
		is.NoErr(os.Remove(p))
		resps, _ := exchange(t, n, addr, get("/changing.txt"))
		is.Equal(resps[0].StatusCode, 404) // gone is gone
	})
}

func TestClientThatStopsReadingIsCutOff(t *testing.T) {
	root := docroot(t)
	big := make([]byte, 4<<20)
	if err := os.WriteFile(filepath.Join(root, "4m"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	inBubble(t, httpd.Config{Root: root, WriteTimeout: 30 * time.Second}, func(t *testing.T, n *mem.Network, addr string) {
		is := is.New(t)
		c, err := n.DialContext(context.Background(), "tcp", addr)
		is.NoErr(err)
		defer c.Close()
		io.WriteString(c, "GET /4m HTTP/1.1\r\nHost: a\r\n\r\n")
		start := time.Now()
		synctest.Wait() // the server fills the pipe and blocks; the client never reads
		time.Sleep(31 * time.Second)
		synctest.Wait()
		got, err := io.ReadAll(c)
		is.True(err == nil || len(got) > 0)          // what was written before the cut
		is.True(len(got) < len(big))                 // but not the whole file: the server gave up
		is.True(time.Since(start) >= 30*time.Second) // after the write timeout
	})
}
