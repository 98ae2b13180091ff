package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/matryer/is"

	"netstages/cmd/internal/clitest"
)

// TestLiveStagesInChromium runs httpd with -status-addr and opens
// /debug/stages in headless Chromium (Debian's chromium, installed by `make
// deps`; the harness is cmd/internal/clitest): the page loads, shows every
// stage name in the picture and the table before any request, and its
// counts move by themselves (the page refreshes itself; no reload) after
// curl fetches files.
func TestLiveStagesInChromium(t *testing.T) {
	is := is.New(t)
	d := start(t, nil, "-root", docroot(t), "-status-addr", "127.0.0.1:0")
	page := clitest.OpenStages(t, "http://"+d.statusAddr+"/debug/stages", "writer")
	page.ShowsStages("reader", "framer", "parser", "handler", "writer") // the picture and the table show every stage
	is.Equal(page.In("writer"), uint64(0))                              // nothing served yet
	is.Equal(page.Text(`.pipeline .started`), "0")                      // no connection yet

	// Two files, each on its own connection.
	for range 2 {
		is.Equal(curl(t, d.url+"/hello.txt"), "hello, world\n") // httpd serves the file
	}

	// The page's own refresh must bring the new counts (no reload here).
	page.WaitIn("writer", 2)
	page.WaitStarted(2)
	svgText := page.Text(`#live svg`)                                                    // the picture is refreshed too
	is.True(regexp.MustCompile(`in [1-9]\d* \| out 0 \| queued 0`).MatchString(svgText)) // the writer's box counts what it wrote
	is.True(strings.Contains(svgText, "0 active | 2 started | 2 finished"))              // and the caption the connections
	page.Close()
	d.stop(t)
}
