package main

import (
	"fmt"
	"net"
	nethttp "net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/matryer/is"

	"netstages/cmd/internal/clitest"
)

// TestLiveStagesInChromium runs the proxy with -status-addr and opens
// /debug/stages in headless Chromium: the page shows both sides of a
// connection (client side and upstream side) with zero counts; after a
// miss and a hit through the proxy the page's own refresh shows the client
// side counting both requests and the upstream side only the miss.
func TestLiveStagesInChromium(t *testing.T) {
	is := is.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	origin := &nethttp.Server{Handler: nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "origin says %s", r.URL.Path)
	})}
	go origin.Serve(ln)
	defer origin.Close()
	d := start(t, "-status-addr", "127.0.0.1:0", "-access-log", "off")

	page := clitest.OpenStages(t, "http://"+d.statusAddr+"/debug/stages", "to handler")
	page.ShowsStages("reader", "framer", "parser", "handler", "writer", // client side
		"misses", "origin writer", "origin reader", "response framer", "response parser", "to handler") // upstream side
	is.Equal(page.In("handler"), uint64(0))       // no request yet
	is.Equal(page.In("origin writer"), uint64(0)) // nothing upstream

	url := "http://" + ln.Addr().String() + "/page"
	for _, want := range []string{"X-Cache: MISS", "X-Cache: HIT"} {
		out, err := exec.Command("curl", "-sS", "--max-time", "10", "-D", "-", "-x", "http://"+d.addr, url).CombinedOutput()
		is.NoErr(err)                                // curl through the proxy
		is.True(strings.Contains(string(out), want)) // a miss, then a hit
	}
	page.WaitIn("writer", 2)                      // both answered (the page refreshes itself)
	page.WaitIn("response parser", 1)             // the miss's response head went through the upstream side
	is.Equal(page.In("origin writer"), uint64(1)) // and only the miss: the hit stayed in the handler's cache
	page.Close()
	d.stop(t)
}
