package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/matryer/is"

	"netstages/cmd/internal/clitest"
)

// TestLiveStagesInChromium runs echod with -status-addr and opens
// /debug/stages in headless Chromium (Debian's chromium, installed by `make
// deps`; the harness is cmd/internal/clitest): the page loads, shows every
// stage name in the picture and the table, and its counts move by
// themselves (the page refreshes itself; no reload) after lines are echoed.
func TestLiveStagesInChromium(t *testing.T) {
	is := is.New(t)
	bin := clitest.Build(t, ".") // the real echod
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

	page := clitest.OpenStages(t, pageURL, "writer")                    // the page loads in Chromium
	page.ShowsStages("reader", "framer", "parser", "handler", "writer") // the picture and the table show every stage
	is.Equal(page.In("writer"), uint64(0))                              // nothing echoed yet

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
	page.WaitIn("writer", 1)
	page.WaitStarted(2)
	svgText := page.Text(`#live svg`)                                                    // the picture is refreshed too
	is.True(regexp.MustCompile(`in [1-9]\d* \| out 0 \| queued 0`).MatchString(svgText)) // the writer's box counts what it wrote

	page.Close()
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
