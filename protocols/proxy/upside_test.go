package proxy_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/actors"
	"netstages/protocols/proxy"
	"netstages/transport/mem"
)

// FuzzUpstreamResponse sends one GET through a proxy connection to an
// in-process origin that answers with the fuzzer's bytes and closes. The
// upstream stages (origin reader, response framer, response parser) must
// turn anything into an answer for the client: a relayed response or a 502,
// always a well-formed status line, never a panic or a hang.
func FuzzUpstreamResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"\r\nHTTP/1.0 200 OK\r\n\r\nuntil the close",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 1\n\nx",
		"HTTP/1.1 200 OK\r\nX: " + string(bytes.Repeat([]byte("y"), 5000)) + "\r\n\r\n",
		"HTTP/1.1 2",
		"",
	} {
		f.Add([]byte(seed))
	}
	status := regexp.MustCompile(`^HTTP/1\.1 [1-5][0-9][0-9] `)
	f.Fuzz(func(t *testing.T, answer []byte) {
		got := throughProxy(t, answer, nil)
		if !status.Match(got) {
			t.Fatalf("answer %q to origin bytes %q is not a response", got, answer)
		}
	})
}

// throughProxy sends one GET through a proxy connection (its pipeline
// counted in meter) to an in-process origin that answers with answer and
// closes, and returns what the client got.
func throughProxy(t *testing.T, answer []byte, meter *actors.Meter) []byte {
	t.Helper()
	ctx := context.Background()
	n := mem.NewNetwork(0)
	oln, err := n.Listen(ctx, "tcp", "origin:80")
	if err != nil {
		t.Fatal(err)
	}
	defer oln.Close()
	go func() {
		c, err := oln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			c.Write(answer)
		}
	}()
	cfg := proxy.Config{Network: n, Permit: func(net.Addr) bool { return true }, UpstreamTimeout: 10 * time.Second}.WithDefaults()
	defer cfg.Pool.Close()
	client, server := mem.Pipe(mem.Addr{Net: "mem", HostPort: "client:1"}, mem.Addr{Net: "mem", HostPort: "proxy:8888"}, 0)
	p, cleanup := proxy.Wire(server, cfg, meter)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		client.Close()
		<-done
		cleanup()
	}()
	io.WriteString(client, "GET http://origin/x HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n")
	client.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatalf("reading the answer: %v (after %q)", err, got)
	}
	return got
}

// TestUpstreamFailureIsCountedWhereItHappened checks what the live view
// teaches: the stage that meets a failure answers the handler itself, so
// its in minus out is the failures, and the stages after it see nothing.
func TestUpstreamFailureIsCountedWhereItHappened(t *testing.T) {
	for _, c := range []struct {
		answer, failsAt string
	}{
		{"", "origin reader"},                                 // the origin closed without a byte
		{"HTTP/1.1 9999 What\r\n\r\n", "response parser"},     // a bad status line
		{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", ""}, // fine: nobody fails
	} {
		t.Run(cmp.Or(c.failsAt, "no failure"), func(t *testing.T) {
			is := is.New(t)
			meter := actors.NewMeter()
			got := string(throughProxy(t, []byte(c.answer), meter))
			counts := map[string]actors.StageCount{}
			for _, s := range meter.Snapshot().Stages {
				counts[s.Name] = s
			}
			chain := []string{"origin writer", "origin reader", "response framer", "response parser", "to handler"}
			failed := false
			for _, name := range chain {
				if failed {
					is.Equal(counts[name].In, uint64(0)) // nothing reaches the stages after the failure
					continue
				}
				is.Equal(counts[name].In, uint64(1)) // every stage up to the failure saw the exchange
				if name == c.failsAt {
					is.Equal(counts[name].Out, uint64(0)) // and the failing one passed nothing on
					failed = true
				}
			}
			if c.failsAt != "" {
				is.True(strings.HasPrefix(got, "HTTP/1.1 502 ")) // the client gets 502
			} else {
				is.True(strings.HasPrefix(got, "HTTP/1.1 200 OK")) // the response, relayed
			}
		})
	}
}
