package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/matryer/is"
)

// TestLiveStagesInChromium runs echod with -status-addr and opens
// /debug/stages in headless Chromium (Debian's chromium, installed by `make
// deps`): the page loads, shows every stage name in the picture and the
// table, and its counts move by themselves (the page refreshes itself; no
// reload) after lines are echoed.
func TestLiveStagesInChromium(t *testing.T) {
	is := is.New(t)
	browser, err := exec.LookPath("chromium")
	is.NoErr(err) // chromium is installed by `make deps` (DEB_PACKAGES)

	bin := filepath.Join(t.TempDir(), "echod")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	is.NoErr(build.Run()) // build echod
	srv := exec.Command(bin, "-addr", "127.0.0.1:0", "-status-addr", "127.0.0.1:0")
	stdout, err := srv.StdoutPipe()
	is.NoErr(err) // stdout pipe
	is.NoErr(srv.Start())
	defer srv.Process.Kill()
	out := bufio.NewReader(stdout)
	banner, err := out.ReadString('\n')
	is.NoErr(err) // echo banner
	m := regexp.MustCompile(`nc (\S+) (\d+)`).FindStringSubmatch(banner)
	is.True(m != nil) // banner says where echo listens
	echoAddr := net.JoinHostPort(m[1], m[2])
	banner, err = out.ReadString('\n')
	is.NoErr(err) // status banner
	m = regexp.MustCompile(`(http://\S+/debug/stages)`).FindStringSubmatch(banner)
	is.True(m != nil) // banner says where the live view is
	pageURL := m[1]
	go io.Copy(io.Discard, out)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()

	is.NoErr(chromedp.Do(tab, chromedp.Navigate(pageURL), chromedp.WaitVisible(`tr[data-stage="writer"]`))) // the page loads in Chromium
	// Read text in one step inside the page: the page replaces its live part
	// every second, so a node found by one protocol call may be gone by the
	// next. textContent, not innerText: an SVG element has no innerText.
	text := func(sel string) string {
		q, _ := json.Marshal(sel)
		s, err := chromedp.Run(tab, chromedp.Evaluate[string]("document.querySelector("+string(q)+").textContent"))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	svgText, tableText, before := text(`#live svg`), text(`#live table`), text(`tr[data-stage="writer"] td.in`)
	for _, stage := range []string{"reader", "framer", "parser", "handler", "writer"} {
		is.True(strings.Contains(svgText, stage))   // the picture shows every stage
		is.True(strings.Contains(tableText, stage)) // so does the table
	}
	is.Equal(before, "0") // nothing echoed yet

	// Echo 3 lines on each of 2 connections.
	for range 2 {
		c, err := net.Dial("tcp", echoAddr)
		is.NoErr(err) // dial echod
		r := bufio.NewReader(c)
		for i := range 3 {
			fmt.Fprintf(c, "line %d\n", i)
			line, err := r.ReadString('\n')
			is.NoErr(err)                               // echo comes back
			is.Equal(line, fmt.Sprintf("line %d\n", i)) // unchanged
		}
		c.Close()
	}

	// The page's own refresh must bring the new counts (no reload here).
	deadline := time.Now().Add(30 * time.Second)
	for {
		after, started := text(`tr[data-stage="writer"] td.in`), text(`.pipeline .started`)
		n, _ := strconv.Atoi(after)
		if n > 0 && started == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("counts did not move: writer in = %q, started = %q", after, started)
		}
		time.Sleep(200 * time.Millisecond)
	}
	svgText = text(`#live svg`)                                                          // the picture is refreshed too
	is.True(regexp.MustCompile(`in [1-9]\d* \| out 0 \| queued 0`).MatchString(svgText)) // the writer's box counts what it wrote

	cancelTab()
	cancelAlloc()
	is.NoErr(srv.Process.Signal(syscall.SIGTERM)) // stop echod
	is.NoErr(srv.Wait())                          // and it exits cleanly
}

func TestStatusAddrFlag(t *testing.T) {
	is := is.New(t)
	var stdout, stderr bytes.Buffer
	is.Equal(Run([]string{"-status-addr", "nocolon"}, &stdout, &stderr, nil), 2)         // a bad address is a usage error
	is.True(strings.Contains(stderr.String(), `-status-addr: address "nocolon" is not`)) // saying which flag
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err) // take a port
	defer ln.Close()
	stderr.Reset()
	is.Equal(Run([]string{"-addr", "127.0.0.1:0", "-status-addr", ln.Addr().String()}, &stdout, &stderr, nil), 1) // a taken port fails
	is.True(strings.Contains(stderr.String(), "address already in use"))                                          // and says why
}
