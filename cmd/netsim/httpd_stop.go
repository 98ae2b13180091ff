package main

import (
	"context"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"netstages/actors"
	"netstages/protocols/httpd"
)

// httpdStop serves a small docroot with httpd on the tour's network and
// checks four requests made by Go's net/http client over it: a file, a
// revalidation (304), a range (206) and a missing file (404), all on one
// keep-alive connection.
func httpdStop(ctx context.Context, t *tour) error {
	root, err := os.MkdirTemp("", "netsim-httpd")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	const text = "hello from a stage pipeline\n"
	if err := os.WriteFile(filepath.Join(root, "hello.txt"), []byte(text), 0o644); err != nil {
		return err
	}
	meter := actors.NewMeter()
	files, err := httpd.New(httpd.Config{Root: root, Bus: t.events, Name: "httpd"}, meter)
	if err != nil {
		return err
	}
	defer files.Close()
	ln, err := t.net.Listen(ctx, "tcp", "www:80")
	if err != nil {
		return err
	}
	srv := &actors.Server{Name: "httpd", Handle: files.Handler(), Refuse: files.Refuse, Bus: t.events}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(t.out, "httpd serves %s on %s %s\n", root, ln.Addr().Network(), ln.Addr())

	tr := &nethttp.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return t.net.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 1,
	}
	client := &nethttp.Client{Transport: tr, Timeout: 10 * time.Second}
	url := "http://" + ln.Addr().String() + "/hello.txt"
	etag := ""
	checks := []struct {
		what   string
		field  string
		value  func() string
		status int
		body   string
	}{
		{"GET /hello.txt", "", nil, 200, text},
		{"GET /hello.txt If-None-Match", "If-None-Match", func() string { return etag }, 304, ""},
		{"GET /hello.txt Range: bytes=0-4", "Range", func() string { return "bytes=0-4" }, 206, text[:5]},
		{"GET /missing", "", nil, 404, ""},
	}
	var failure error
	for i, c := range checks {
		target := url
		if i == 3 {
			target = strings.Replace(url, "hello.txt", "missing", 1)
		}
		req, _ := nethttp.NewRequestWithContext(ctx, "GET", target, nil)
		if c.field != "" {
			req.Header.Set(c.field, c.value())
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			failure = fmt.Errorf("%s: %w", c.what, err)
			break
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if i == 0 {
			etag = resp.Header.Get("ETag")
		}
		status := "ok"
		if err != nil || resp.StatusCode != c.status || c.body != "" && string(body) != c.body {
			status = "MISMATCH"
			failure = fmt.Errorf("%s: want %d %q, got %d %q (err %v)", c.what, c.status, c.body, resp.StatusCode, body, err)
		}
		fmt.Fprintf(t.out, "%-34s → %d %-12s %4d body bytes %s (%v)\n", c.what, resp.StatusCode, nethttp.StatusText(resp.StatusCode), len(body), status, time.Since(start).Round(time.Microsecond))
	}
	tr.CloseIdleConnections()
	srv.Shutdown()
	if err := <-served; err != nil {
		return err
	}
	t.showPipeline(meter)
	return failure
}
