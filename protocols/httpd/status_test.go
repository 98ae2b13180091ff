package httpd_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/prometheus/client_golang/prometheus"

	"netstages/actors"
	"netstages/actors/graphview"
	"netstages/protocols/httpd"
)

// statusGet asks h for target with an Accept header and returns the response.
func statusGet(h nethttp.Handler, target, accept string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(nethttp.MethodGet, target, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestStatusHandlerLiveView checks /debug/stages is graphview's live view
// (HTML for browsers, JSON, SVG) of the server's pipeline, drawn before
// any connection and counted after one, and that /metrics is unchanged.
func TestStatusHandlerLiveView(t *testing.T) {
	is := is.New(t)
	root := t.TempDir()
	is.NoErr(os.WriteFile(filepath.Join(root, "a.txt"), []byte("hello"), 0o644)) // a file to serve
	meter := actors.NewMeter()
	reg := prometheus.NewRegistry()
	var active func() int64 = func() int64 { return 0 }
	m, err := httpd.NewMetrics(reg, meter, active)
	is.NoErr(err) // metrics register
	files, err := httpd.New(httpd.Config{Root: root, Metrics: m}, meter)
	is.NoErr(err) // server opens its root
	defer files.Close()
	h := httpd.StatusHandler(reg, meter)

	status := func() graphview.Status {
		rec := statusGet(h, "/debug/stages", "")
		is.Equal(rec.Code, 200)                                        // JSON by default
		is.Equal(rec.Header().Get("Content-Type"), "application/json") // as JSON
		var st graphview.Status
		is.NoErr(json.Unmarshal(rec.Body.Bytes(), &st)) // graphview's shape
		is.Equal(len(st.Pipelines), 1)                  // one kind of pipeline
		return st
	}
	before := status().Pipelines[0]
	is.Equal(before.Title, "httpd")
	is.Equal(before.Graph.Nodes, files.Graph().Nodes) // before any connection: the server's shape
	is.Equal(before.Graph.Edges, files.Graph().Edges) // with its edges
	for _, s := range before.Stages {
		is.Equal(s.In, uint64(0)) // and zero counts
	}

	page := statusGet(h, "/debug/stages", "text/html,application/xhtml+xml")
	is.Equal(page.Header().Get("Content-Type"), "text/html; charset=utf-8") // a browser gets the page
	body := page.Body.String()
	is.True(strings.Contains(body, "<svg"))                // with the picture inline
	is.True(strings.Contains(body, `data-stage="writer"`)) // and the table
	svg := statusGet(h, "/debug/stages?format=svg", "text/html")
	is.Equal(svg.Header().Get("Content-Type"), "image/svg+xml") // ?format=svg: the picture alone
	for _, n := range before.Graph.Nodes {
		is.True(strings.Contains(svg.Body.String(), ">"+n.Name+"<")) // naming every stage
	}
	is.Equal(statusGet(h, "/debug/stages?format=nope", "").Code, 400) // an unknown format is refused

	// One request over a pipe.
	client, server := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- files.Handler()(context.Background(), server) }()
	go io.WriteString(client, "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := nethttp.ReadResponse(bufio.NewReader(client), nil)
	is.NoErr(err) // the response arrives
	got, err := io.ReadAll(resp.Body)
	is.NoErr(err)                  // its body
	is.Equal(string(got), "hello") // is the file
	client.Close()                 // the handler does not close the conn; actors.Server would
	is.NoErr(<-done)               // the pipeline ends cleanly

	after := status().Pipelines[0]
	is.Equal(after.Started, uint64(1))  // one connection
	is.Equal(after.Finished, uint64(1)) // finished
	is.Equal(after.Stages[4].Name, "writer")
	is.True(after.Stages[4].In >= 1) // the writer counted the response

	metrics := statusGet(h, "/metrics", "").Body.String()
	is.True(strings.Contains(metrics, `httpd_requests_total{code="200"} 1`))               // /metrics is unchanged
	is.True(strings.Contains(metrics, `httpd_stage_items_total{dir="in",stage="writer"}`)) // with the stage counts
}
