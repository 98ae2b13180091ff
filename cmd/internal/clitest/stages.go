package clitest

import (
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// StagesPage is a server's /debug/stages page open in headless Chromium.
type StagesPage struct {
	t     testing.TB
	tab   context.Context
	close func()
}

// OpenStages starts headless Chromium, opens url (a /debug/stages page) and
// waits until the table row of stage is visible. The browser is stopped in
// the test's cleanup.
func OpenStages(t testing.TB, url, stage string) *StagesPage {
	t.Helper()
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is needed (make deps installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	p := &StagesPage{t: t, tab: tab, close: sync.OnceFunc(func() {
		cancelTab()
		cancelAlloc()
		cancel()
	})}
	t.Cleanup(p.Close)
	if err := chromedp.Do(tab, chromedp.Navigate(url), chromedp.WaitVisible(rowSelector(stage))); err != nil {
		t.Fatalf("open %s in chromium: %v", url, err)
	}
	return p
}

// Close stops the browser (the test's cleanup does it too): call it before
// stopping the server, so that the page's refreshes stop first.
func (p *StagesPage) Close() { p.close() }

func rowSelector(stage string) string {
	q, _ := json.Marshal(stage)
	return `tr[data-stage=` + string(q) + `]`
}

// Text is the text of the first element matching the CSS selector, read in
// one step inside the page: the page replaces its live part every second,
// so a node found by one browser call may be gone by the next. It is
// textContent, not innerText: an SVG element has no innerText.
func (p *StagesPage) Text(selector string) string {
	p.t.Helper()
	q, _ := json.Marshal(selector)
	s, err := chromedp.Run(p.tab, chromedp.Evaluate[string]("(function(){var e=document.querySelector("+string(q)+");return e?e.textContent:''})()"))
	if err != nil {
		p.t.Fatalf("text of %s: %v", selector, err)
	}
	return strings.TrimSpace(s)
}

// ShowsStages fails the test unless the picture and the table both name
// every stage given.
func (p *StagesPage) ShowsStages(stages ...string) {
	p.t.Helper()
	svg, table := p.Text(`#live svg`), p.Text(`#live table`)
	for _, s := range stages {
		if !strings.Contains(svg, s) {
			p.t.Errorf("the picture does not show stage %q", s)
		}
		if !strings.Contains(table, s) {
			p.t.Errorf("the table does not show stage %q", s)
		}
	}
	if len(stages) == 0 {
		p.t.Error("ShowsStages: no stage names given")
	}
}

// In is the stage's "in" count as the page shows it now.
func (p *StagesPage) In(stage string) uint64 {
	p.t.Helper()
	s := p.Text(rowSelector(stage) + ` td.in`)
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		p.t.Fatalf("stage %q: in = %q: %v", stage, s, err)
	}
	return n
}

// WaitIn waits, without reloading (the page refreshes itself), until the
// stage's "in" count is at least n, and fails the test after 30 s.
func (p *StagesPage) WaitIn(stage string, n uint64) {
	p.t.Helper()
	p.wait(func() (bool, string) {
		got := p.In(stage)
		return got >= n, "stage " + stage + ": in = " + strconv.FormatUint(got, 10) + ", want at least " + strconv.FormatUint(n, 10)
	})
}

// WaitStarted waits until the first pipeline's "started" count (connections
// or runs) is at least n, and fails the test after 30 s.
func (p *StagesPage) WaitStarted(n int) {
	p.t.Helper()
	p.wait(func() (bool, string) {
		s := p.Text(`.pipeline .started`)
		got, _ := strconv.Atoi(s)
		return got >= n, "started = " + s + ", want at least " + strconv.Itoa(n)
	})
}

func (p *StagesPage) wait(done func() (bool, string)) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, why := done()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the live page did not move in 30s: %s", why)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
