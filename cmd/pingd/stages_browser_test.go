package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/cmd/internal/clitest"
)

// TestLiveStagesInChromium runs pingd with -status-addr and opens
// /debug/stages in headless Chromium: the page loads, shows every stage of
// pingd's pipeline with zero counts, and its counts move by themselves (no
// reload) after pings are echoed.
func TestLiveStagesInChromium(t *testing.T) {
	is := is.New(t)
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 2)
	code := make(chan int, 1)
	go func() {
		code <- Run(ctx, []string{"-addr", "127.0.0.1:0", "-status-addr", "127.0.0.1:0", "-echo", "same"}, stdout, stderr, ready)
	}()
	var addr, statusAddr string
	for _, a := range []*string{&addr, &statusAddr} {
		select {
		case *a = <-ready:
		case c := <-code:
			t.Fatalf("pingd exited %d: %s", c, stderr)
		}
	}
	pageURL := "http://" + statusAddr + "/debug/stages"
	is.True(strings.Contains(stdout.String(), "pingd: live stages on "+pageURL)) // the banner says where

	page := clitest.OpenStages(t, pageURL, "writer")
	page.ShowsStages("reader", "parser", "handler", "writer") // every stage, in the picture and the table
	is.Equal(page.In("writer"), uint64(0))                    // nothing echoed yet

	conn, err := net.Dial("udp", addr)
	is.NoErr(err) // a UDP client
	defer conn.Close()
	buf := make([]byte, 100)
	for i := range 3 {
		msg := fmt.Sprintf("Ping %d now", i+1)
		_, err := conn.Write([]byte(msg))
		is.NoErr(err) // sent
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		is.NoErr(err)                  // echoed
		is.Equal(string(buf[:n]), msg) // unchanged (-echo same)
	}
	page.WaitIn("parser", 1) // the page's own refresh brings the new counts
	page.WaitIn("writer", 1)
	is.True(strings.Contains(page.Text(`#live svg`), "1 active | 1 started")) // one pipeline for the socket, running

	resp, err := http.Get(pageURL + "?format=json")
	is.NoErr(err) // the same data as JSON
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	is.True(strings.Contains(body.String(), `"name": "handler"`)) // naming the stages

	page.Close()
	cancel()
	is.Equal(<-code, 0) // pingd stops cleanly, status listener too
}

func TestStatusAddrFlag(t *testing.T) {
	is := is.New(t)
	var out, errOut bytes.Buffer
	is.Equal(Run(context.Background(), []string{"-status-addr", "nocolon"}, &out, &errOut, nil), 2) // a bad address is a usage error
	is.True(strings.Contains(errOut.String(), `-status-addr: address "nocolon" is not`))            // saying which flag
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err) // take a port
	defer ln.Close()
	errOut.Reset()
	is.Equal(Run(context.Background(), []string{"-addr", "127.0.0.1:0", "-status-addr", ln.Addr().String()}, &out, &errOut, nil), 1) // a taken port fails
	is.True(strings.Contains(errOut.String(), "address already in use"))                                                             // and says why
}
