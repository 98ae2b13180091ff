package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/cmd/internal/clitest"
)

// binary is the proxy built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	os.Exit(clitest.Main(m, func(dir string) { binary = filepath.Join(dir, "proxy") }, "."))
}

// daemon is a running proxy started by a test.
type daemon struct {
	cmd              *exec.Cmd
	addr, statusAddr string
	stderr           strings.Builder
}

func start(t *testing.T, args ...string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(binary, append([]string{"-addr", "127.0.0.1:0"}, args...)...)}
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stderr = &d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(out)
	for d.addr == "" || (strings.Contains(strings.Join(args, " "), "-status-addr") && d.statusAddr == "") {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("proxy did not start: %v; stderr: %s", err, d.stderr.String())
		}
		if rest, ok := strings.CutPrefix(line, "proxy: listening on "); ok {
			d.addr = strings.Fields(rest)[0]
		}
		if rest, ok := strings.CutPrefix(line, "proxy: metrics on http://"); ok {
			d.statusAddr = strings.TrimSuffix(strings.Fields(rest)[0], "/metrics,")
		}
	}
	go io.Copy(io.Discard, br)
	t.Cleanup(func() { d.stop(t) })
	return d
}

func (d *daemon) stop(t *testing.T) {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("proxy exit: %v; stderr: %s", err, d.stderr.String())
		}
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-done
		t.Errorf("proxy did not stop on SIGTERM")
	}
}

func TestProxyCommandEndToEnd(t *testing.T) {
	is := is.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	origin := &nethttp.Server{Handler: nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "origin says %s", r.URL.Path)
	})}
	go origin.Serve(ln)
	defer origin.Close()
	logPath := filepath.Join(t.TempDir(), "access.log")
	d := start(t, "-status-addr", "127.0.0.1:0", "-access-log", logPath, "-cache-size", "1MiB")
	curl := func(args ...string) string {
		out, err := exec.Command("curl", append([]string{"-sS", "--max-time", "10", "-D", "-", "-x", "http://" + d.addr}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v: %s", err, out)
		}
		return string(out)
	}
	url := "http://" + ln.Addr().String() + "/page"
	is.True(strings.Contains(curl(url), "X-Cache: MISS"))
	out := curl(url)
	is.True(strings.Contains(out, "X-Cache: HIT"))
	is.True(strings.HasSuffix(out, "origin says /page"))

	resp, err := nethttp.Get("http://" + d.statusAddr + "/metrics")
	is.NoErr(err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"proxy_cache_hits_total 1", "proxy_cache_misses_total 1", "proxy_cache_entries 1",
		"proxy_upstream_errors_total 0", `proxy_stage_items_total{dir="in",stage="handler"}`} {
		is.True(strings.Contains(string(metrics), want)) // metric present
	}
	resp, err = nethttp.Get("http://" + d.statusAddr + "/debug/stages")
	is.NoErr(err)
	var st struct {
		Pipelines []struct {
			Graph  struct{ Nodes []struct{ Name string } }
			Stages []struct {
				Name string
				In   uint64
			}
		}
	}
	is.NoErr(json.NewDecoder(resp.Body).Decode(&st)) // the live view as JSON
	resp.Body.Close()
	is.Equal(len(st.Pipelines), 1)                 // one kind of pipeline
	is.Equal(len(st.Pipelines[0].Graph.Nodes), 12) // client side (5 stages), upstream side (6) and the cache between
	is.Equal(len(st.Pipelines[0].Stages), 11)      // of which 11 stages with counts
	for _, s := range st.Pipelines[0].Stages {
		if s.Name == "origin writer" || s.Name == "response parser" {
			is.Equal(s.In, uint64(1)) // the miss went through the upstream stages, the hit did not
		}
	}

	d.stop(t)
	log, err := os.ReadFile(logPath)
	is.NoErr(err)
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	is.Equal(len(lines), 2)                                           // one line per request, via the bus
	is.True(strings.Contains(lines[1], `"GET `+url+` HTTP/1.1" 200`)) // common log format
	is.True(strings.Contains(d.stderr.String(), "1 hits, 1 misses"))
}

func TestSlowHeadGets408(t *testing.T) {
	is := is.New(t)
	d := start(t, "-read-header-timeout", "200ms", "-access-log", "off")
	c, err := net.Dial("tcp", d.addr)
	is.NoErr(err) // dial the proxy
	defer c.Close()
	io.WriteString(c, "GET http://example.invalid/ HTTP/1.1\r\nHo")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	is.NoErr(err)                                                   // the proxy closes the connection
	is.True(strings.HasPrefix(string(got), "HTTP/1.1 408 Request")) // after answering 408
	d.stop(t)
}

func TestBadFlagsExit2(t *testing.T) {
	is := is.New(t)
	for _, args := range [][]string{{"-cache-size", "lots"}, {"-allow", "nonsense"}, {"-connect-ports", "0"}, {"-upstream-timeout", "0s"}, {"-read-header-timeout", "0s"}, {"-idle-timeout", "-1s"}, {"-write-timeout", "0s"}, {"extra"}} {
		var stderr strings.Builder
		is.Equal(Run(args, io.Discard, &stderr, nil), 2) // usage error
		is.True(strings.Contains(stderr.String(), "usage: proxy"))
	}
}

func TestParseSize(t *testing.T) {
	is := is.New(t)
	for in, want := range map[string]int64{"64MiB": 64 << 20, "8M": 8 << 20, "100": 100, "1GiB": 1 << 30, "0": 0, "2kb": 2048} {
		n, err := parseSize(in)
		is.NoErr(err)
		is.Equal(n, want)
	}
	for _, bad := range []string{"", "MiB", "-1MiB", "5TiB", "99999999999GiB"} {
		_, err := parseSize(bad)
		is.True(err != nil) // rejected
	}
}
