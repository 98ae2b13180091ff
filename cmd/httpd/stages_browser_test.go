package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/matryer/is"
)

// TestLiveStagesInChromium runs httpd with -status-addr and opens
// /debug/stages in headless Chromium (Debian's chromium, installed by `make
// deps`): the page loads, shows every stage name in the picture and the
// table before any request, and its counts move by themselves (the page
// refreshes itself; no reload) after curl fetches files.
func TestLiveStagesInChromium(t *testing.T) {
	is := is.New(t)
	browser, err := exec.LookPath("chromium")
	is.NoErr(err) // chromium is installed by `make deps` (DEB_PACKAGES)
	d := start(t, nil, "-root", docroot(t), "-status-addr", "127.0.0.1:0")
	pageURL := "http://" + d.statusAddr + "/debug/stages"

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
	svgText, tableText := text(`#live svg`), text(`#live table`)
	for _, stage := range []string{"reader", "framer", "parser", "handler", "writer"} {
		is.True(strings.Contains(svgText, stage))   // the picture shows every stage
		is.True(strings.Contains(tableText, stage)) // so does the table
	}
	is.Equal(text(`tr[data-stage="writer"] td.in`), "0") // nothing served yet
	is.Equal(text(`.pipeline .started`), "0")            // no connection yet

	// Two files, each on its own connection.
	for range 2 {
		is.Equal(curl(t, d.url+"/hello.txt"), "hello, world\n") // httpd serves the file
	}

	// The page's own refresh must bring the new counts (no reload here).
	deadline := time.Now().Add(30 * time.Second)
	for {
		after, started := text(`tr[data-stage="writer"] td.in`), text(`.pipeline .started`)
		n, _ := strconv.Atoi(after)
		if n >= 2 && started == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("counts did not move: writer in = %q, started = %q", after, started)
		}
		time.Sleep(200 * time.Millisecond)
	}
	svgText = text(`#live svg`)                                                          // the picture is refreshed too
	is.True(regexp.MustCompile(`in [1-9]\d* \| out 0 \| queued 0`).MatchString(svgText)) // the writer's box counts what it wrote
	is.True(strings.Contains(svgText, "0 active | 2 started | 2 finished"))              // and the caption the connections

	cancelTab()
	cancelAlloc()
	d.stop(t)
}
