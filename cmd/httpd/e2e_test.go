package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/cmd/internal/clitest"
)

// binary is the httpd built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	os.Exit(clitest.Main(m, func(dir string) { binary = filepath.Join(dir, "httpd") }, "."))
}

// docroot has small, 100 KiB and 10 MiB files, a directory with an index,
// a dotfile and a symlink leading out.
func docroot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("hello.txt", []byte("hello, world\n"))
	write("digits", []byte("0123456789"))
	write("sub/index.html", []byte("<h1>sub</h1>\n"))
	write(".secret", []byte("s"))
	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = byte(i % 251)
	}
	write("big", big)
	write("huge", make([]byte, 10<<20))
	os.Symlink("/etc/passwd", filepath.Join(dir, "out"))
	return dir
}

// daemon is a running httpd started by a test.
type daemon struct {
	cmd        *exec.Cmd
	url        string
	addr       string
	statusAddr string
	stdout     *strings.Builder
	stderr     *strings.Builder
	done       chan error
	wrapped    bool // run under a tracer: signal the process group, any exit
	stopped    bool
}

// start runs the binary (optionally under a wrapper such as strace) and
// waits for the URL it prints.
func start(t *testing.T, wrapper []string, args ...string) *daemon {
	t.Helper()
	argv := append(append([]string{}, wrapper...), binary, "-addr", "127.0.0.1:0")
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, wrapped: len(wrapper) > 0, stdout: &strings.Builder{}, stderr: &strings.Builder{}, done: make(chan error, 1)}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 4)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			select {
			case lines <- line:
			default:
			}
			d.stdout.WriteString(line + "\n")
		}
	}()
	go func() {
		<-copied
		d.done <- cmd.Wait()
	}()
	t.Cleanup(func() { d.stop(t) })
	deadline := time.After(20 * time.Second)
	for d.url == "" || (contains(args, "-status-addr") && d.statusAddr == "") {
		select {
		case line := <-lines:
			if _, rest, ok := strings.Cut(line, " on http://"); ok && strings.HasPrefix(line, "httpd: serving") {
				d.url = "http://" + strings.TrimSuffix(rest, "/")
				d.addr = strings.TrimPrefix(d.url, "http://")
			}
			if _, rest, ok := strings.Cut(line, "metrics on http://"); ok {
				d.statusAddr, _, _ = strings.Cut(rest, "/")
			}
		case <-deadline:
			t.Fatalf("httpd did not start: %s", d.stderr)
		}
	}
	return d
}

func contains(args []string, s string) bool {
	for _, a := range args {
		if a == s {
			return true
		}
	}
	return false
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop(t *testing.T) {
	if d.stopped {
		return
	}
	d.stopped = true
	syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM) // the group: httpd, and its tracer if any
	select {
	case err := <-d.done:
		if err != nil && !d.wrapped {
			t.Errorf("httpd exit: %v\nstderr: %s", err, d.stderr)
		}
	case <-time.After(15 * time.Second):
		d.cmd.Process.Kill()
		t.Errorf("httpd did not stop on SIGTERM")
	}
}

// curl runs curl with args and returns its stdout.
func curl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("curl", append([]string{"-sS", "--max-time", "10"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %v: %v", args, err)
	}
	return string(out)
}

func TestCurl(t *testing.T) {
	is := is.New(t)
	root := docroot(t)
	d := start(t, nil, "-root", root)
	code := func(args ...string) string {
		return curl(t, append([]string{"-o", "/dev/null", "-w", "%{http_code}"}, args...)...)
	}
	is.Equal(curl(t, d.url+"/hello.txt"), "hello, world\n")
	head := curl(t, "-I", d.url+"/hello.txt")
	is.True(strings.Contains(head, "HTTP/1.1 200 OK"))
	is.True(strings.Contains(head, "Content-Length: 13"))
	is.True(strings.Contains(head, "Content-Type: text/plain; charset=utf-8"))
	is.Equal(curl(t, "-r", "2-4", d.url+"/digits"), "234")                                                        // curl -r
	is.Equal(curl(t, "-r", "-3", d.url+"/digits"), "789")                                                         // suffix range
	is.Equal(code("-r", "50-60", d.url+"/digits"), "416")                                                         // unsatisfiable
	is.True(strings.Contains(curl(t, "-r", "0-1,4-5", d.url+"/digits"), "Content-Range: bytes 4-5/10\r\n\r\n45")) // several ranges: multipart
	is.Equal(code(d.url+"/nope"), "404")
	is.Equal(code(d.url+"/.secret"), "404")                                     // dotfile
	is.Equal(code(d.url+"/out"), "404")                                         // symlink leading out
	is.Equal(code("--path-as-is", d.url+"/../../../../etc/passwd"), "404")      // traversal
	is.Equal(code("--path-as-is", d.url+"/%2e%2e/%2e%2e/etc/passwd"), "404")    // encoded traversal
	is.Equal(code("--path-as-is", d.url+"/..%2f..%2f..%2fetc%2fpasswd"), "404") // encoded slashes
	is.Equal(code("--path-as-is", d.url+"/..%5c..%5cetc%5cpasswd"), "400")      // backslashes
	is.Equal(code(d.url+"/hello.txt%00"), "400")                                // NUL
	is.Equal(curl(t, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", d.url+"/sub"), "301 "+d.url+"/sub/")
	is.Equal(curl(t, "-L", d.url+"/sub"), "<h1>sub</h1>\n") // followed to index.html
	etag := ""
	for _, line := range strings.Split(head, "\r\n") {
		if v, ok := strings.CutPrefix(line, "ETag: "); ok {
			etag = v
		}
	}
	is.Equal(code("-H", "If-None-Match: "+etag, d.url+"/hello.txt"), "304")
	is.Equal(code("-z", time.Now().Add(time.Hour).Format(nethttp.TimeFormat), d.url+"/hello.txt"), "304") // If-Modified-Since
	is.Equal(code("-X", "POST", "-d", "x", d.url+"/hello.txt"), "405")
	is.Equal(code("-X", "BREW", d.url+"/"), "501")
	is.Equal(code("--http1.0", d.url+"/hello.txt"), "200")
	is.True(strings.Contains(curl(t, d.url+"/"), "<a href=\"./hello.txt\">hello.txt</a>")) // listing
	is.True(strings.HasPrefix(curl(t, "-H", "Accept: application/json", d.url+"/"), "[{"))

	// Keep-alive: one curl, two URLs, one connection.
	out, err := exec.Command("curl", "-sv", "-o", "/dev/null", "-o", "/dev/null", d.url+"/digits", d.url+"/hello.txt").CombinedOutput()
	is.NoErr(err)
	is.True(strings.Contains(string(out), "Re-using existing connection") || strings.Contains(string(out), "Reusing existing")) // keep-alive

	big := curl(t, d.url+"/huge")
	is.Equal(len(big), 10<<20) // 10 MiB whole
	d.stop(t)
	log := d.stdout.String()
	is.True(strings.Contains(log, `"GET /hello.txt HTTP/1.1" 200 13`)) // Common Log Format
	is.True(strings.Contains(log, `"BREW / HTTP/1.1" 501`))
}

func TestNetHTTPClientKeepAlive(t *testing.T) {
	for _, fused := range []string{"-fused=true", "-fused=false"} {
		t.Run(fused, func(t *testing.T) { keepAlive(t, fused) })
	}
}

func keepAlive(t *testing.T, fused string) {
	is := is.New(t)
	d := start(t, nil, "-root", docroot(t), "-access-log", "off", fused)
	tr := &nethttp.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &nethttp.Client{Transport: tr}
	reused := 0
	for i := range 20 {
		path := []string{"/digits", "/big", "/hello.txt", "/nope"}[i%4]
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				reused++
			}
		}}
		req, _ := nethttp.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", d.url+path, nil)
		resp, err := client.Do(req)
		is.NoErr(err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		is.NoErr(err)
		is.Equal(int64(len(body)), resp.ContentLength) // Content-Length is right
		if path == "/big" {
			is.Equal(body[1000], byte(1000%251)) // the bytes are right
		}
	}
	is.Equal(reused, 19) // one connection for all twenty
}

func TestRawPipeliningAndErrors(t *testing.T) {
	is := is.New(t)
	d := start(t, nil, "-root", docroot(t), "-access-log", "off", "-file-cache", "0") // small files read per request
	c, err := net.Dial("tcp", d.addr)
	is.NoErr(err)
	defer c.Close()
	req := "GET /digits HTTP/1.1\r\nHost: a\r\n\r\n"
	io.WriteString(c, strings.Repeat(req, 16)+"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
	br := bufio.NewReader(c)
	for range 16 {
		resp, err := nethttp.ReadResponse(br, nil)
		is.NoErr(err)
		body, _ := io.ReadAll(resp.Body)
		is.Equal(string(body), "0123456789") // sixteen pipelined answers, in order
	}
	resp, err := nethttp.ReadResponse(br, nil)
	is.NoErr(err)
	is.Equal(resp.StatusCode, 400) // CL and TE: no smuggling
	is.True(resp.Close)
	io.ReadAll(resp.Body)
	rest, _ := io.ReadAll(br)
	is.Equal(len(rest), 0) // and the connection closed
}

func TestSendfileIsUsed(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Fatal("strace is needed (make deps installs it)")
	}
	is := is.New(t)
	trace := filepath.Join(t.TempDir(), "strace.out")
	d := start(t, []string{"strace", "-f", "-e", "trace=sendfile", "-o", trace}, "-root", docroot(t), "-access-log", "off")
	is.Equal(len(curl(t, d.url+"/big")), 100<<10)
	is.Equal(curl(t, d.url+"/digits"), "0123456789")
	d.stop(t)
	out, err := os.ReadFile(trace)
	is.NoErr(err)
	calls := strings.Count(string(out), "sendfile(")
	is.True(calls >= 1) // the 100 KiB file went by sendfile(2)
	t.Logf("strace:\n%s", out)
	is.True(regexp.MustCompile(`sendfile\(\d+, \d+, NULL, 102400\)\s+= 102400`).Match(out)) // in one call of its full length
}

func TestClientDisconnectsMidResponseAndGracefulShutdown(t *testing.T) {
	is := is.New(t)
	d := start(t, nil, "-root", docroot(t), "-access-log", "off", "-status-addr", "127.0.0.1:0", "-grace", "5s")
	// A client that asks for 10 MiB, reads a little and resets.
	for range 5 {
		c, err := net.Dial("tcp", d.addr)
		is.NoErr(err)
		io.WriteString(c, "GET /huge HTTP/1.1\r\nHost: a\r\n\r\n")
		buf := make([]byte, 1000)
		_, err = io.ReadFull(c, buf)
		is.NoErr(err)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
	// The server goes on, and counts no connection left.
	is.Equal(curl(t, d.url+"/digits"), "0123456789")
	metrics := ""
	for range 100 {
		metrics = curl(t, "http://"+d.statusAddr+"/metrics")
		if strings.Contains(metrics, "httpd_active_connections 0") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	is.True(strings.Contains(metrics, "httpd_active_connections 0"))
	is.True(strings.Contains(metrics, `httpd_requests_total{code="200"}`))
	is.True(strings.Contains(metrics, `httpd_stage_items_total{dir="in",stage="writer"}`))
	var st struct {
		Pipelines []struct {
			Title string
			Graph struct {
				Nodes []struct{ Name string }
			}
			Stages []struct {
				Name string
				In   uint64
			}
		}
	}
	is.NoErr(json.Unmarshal([]byte(curl(t, "http://"+d.statusAddr+"/debug/stages")), &st)) // curl gets the live view as JSON
	is.Equal(len(st.Pipelines), 1)                                                         // one kind of pipeline
	snap := st.Pipelines[0]
	is.Equal(snap.Title, "httpd")
	is.Equal(len(snap.Graph.Nodes), 5)
	is.True(snap.Stages[4].In >= 6) // the writer's batches

	// Graceful shutdown: a download in flight when SIGTERM comes finishes.
	c, err := net.Dial("tcp", d.addr)
	is.NoErr(err)
	defer c.Close()
	io.WriteString(c, "GET /huge HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := nethttp.ReadResponse(br, nil)
	is.NoErr(err)
	d.cmd.Process.Signal(syscall.SIGTERM)
	n, err := io.Copy(io.Discard, resp.Body)
	is.NoErr(err)
	is.Equal(n, int64(10<<20)) // the whole file, after SIGTERM
	select {
	case err := <-d.done:
		is.NoErr(err) // exit 0
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	d.stopped = true
	is.True(!strings.Contains(d.stderr.String(), "panic"))
}

func TestFlags(t *testing.T) {
	is := is.New(t)
	var out, errOut strings.Builder
	is.Equal(Run([]string{"-h"}, &out, &errOut, nil), 0)
	is.True(strings.Contains(errOut.String(), "-read-header-timeout"))
	is.Equal(Run([]string{"-log-format", "xml"}, &out, &errOut, nil), 2)
	is.Equal(Run([]string{"-root", "/nonexistent/dir"}, &out, &errOut, nil), 2)
	is.Equal(Run([]string{"-addr", "8080"}, &out, &errOut, nil), 2)
}

// TestChromium loads a directory listing and a file in headless Chromium
// (Debian's chromium, installed by make deps) and checks the DOM it built:
// the listing parses as the table we meant, a hostile file name stays text,
// and a text file shows as text.
func TestChromium(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is needed (make deps installs it)")
	}
	is := is.New(t)
	root := docroot(t)
	is.NoErr(os.WriteFile(filepath.Join(root, `<i>x&"q".txt`), []byte("x"), 0o644))
	d := start(t, nil, "-root", root, "-log-format", "combined")
	dump := func(url string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu",
			"--user-data-dir="+t.TempDir(), "--dump-dom", url).Output()
		if err != nil {
			t.Fatalf("chromium %s: %v", url, err)
		}
		return string(out)
	}
	dom := dump(d.url + "/")
	is.True(strings.Contains(dom, "<title>Index of /</title>"))
	is.True(strings.Contains(dom, `<a href="./sub/">sub/</a>`))                                // folders first, as links
	is.True(strings.Contains(dom, `<a href="./big">big</a></td><td class="n">100.0 KiB</td>`)) // a row as meant
	is.True(strings.Contains(dom, `&lt;i&gt;x&amp;"q".txt</a>`))                               // the hostile name is text
	is.True(!strings.Contains(dom, "<i>"))                                                     // not markup
	is.True(strings.Contains(dom, `href="./%3Ci%3Ex&amp;%22q%22.txt"`))                        // and its link is encoded
	file := dump(d.url + "/hello.txt")
	is.True(strings.Contains(file, "<pre"))         // a text file shows as text
	is.True(strings.Contains(file, "hello, world")) // its bytes
	d.stop(t)
	is.True(strings.Contains(d.stdout.String(), "HeadlessChrome")) // the combined log names the browser
}

func TestMaxConnsRefusesWith503(t *testing.T) {
	is := is.New(t)
	d := start(t, nil, "-root", docroot(t), "-max-conns", "1", "-access-log", "off")
	held, err := net.Dial("tcp", d.addr)
	is.NoErr(err)
	defer held.Close()
	io.WriteString(held, "GET /digits HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, err := nethttp.ReadResponse(bufio.NewReader(held), nil)
	is.NoErr(err)
	is.Equal(resp.StatusCode, 200) // the one allowed connection, kept alive
	out := curl(t, "-o", "/dev/null", "-w", "%{http_code}", d.url+"/digits")
	is.Equal(out, "503") // the next is refused, and curl reads the answer
}
