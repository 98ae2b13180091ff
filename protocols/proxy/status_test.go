package proxy_test

import (
	"encoding/json"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/prometheus/client_golang/prometheus"

	"netstages/actors"
	"netstages/actors/graphview"
	"netstages/actors/status"
	"netstages/protocols/proxy"
)

// statusGet asks h for target with an Accept header.
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
// of the proxy pipeline (HTML for browsers, JSON, SVG; Mermaid and DOT
// text too), drawn before any connection, and that /metrics still serves.
func TestStatusHandlerLiveView(t *testing.T) {
	is := is.New(t)
	meter := actors.NewMeter()
	reg := prometheus.NewRegistry()
	reg.MustRegister(status.NewStageCollector("proxy", meter), prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "probe", Help: "A gauge to find."}, func() float64 { return 7 }))
	h := proxy.StatusHandler(reg, meter)
	want := proxy.Graph()

	rec := statusGet(h, "/debug/stages", "")
	is.Equal(rec.Header().Get("Content-Type"), "application/json") // JSON for non-browsers
	var st graphview.Status
	is.NoErr(json.Unmarshal(rec.Body.Bytes(), &st)) // graphview's shape
	is.Equal(len(st.Pipelines), 1)                  // one kind of pipeline
	is.Equal(st.Pipelines[0].Title, "proxy")
	is.Equal(st.Pipelines[0].Graph.Nodes, want.Nodes) // before any connection: the proxy's shape
	is.Equal(len(st.Pipelines[0].Stages), 11)         // with a count per stage, both sides

	page := statusGet(h, "/debug/stages", "text/html")
	is.Equal(page.Header().Get("Content-Type"), "text/html; charset=utf-8") // a browser gets the page
	is.True(strings.Contains(page.Body.String(), "<svg"))                   // with the picture inline
	svg := statusGet(h, "/debug/stages?format=svg", "")
	is.Equal(svg.Header().Get("Content-Type"), "image/svg+xml") // the picture alone
	for _, n := range want.Nodes {
		is.True(strings.Contains(svg.Body.String(), ">"+n.Name+"<"))             // naming every stage
		is.True(strings.Contains(page.Body.String(), `data-stage="`+n.Name+`"`)) // a table row each
	}
	is.True(strings.HasPrefix(statusGet(h, "/debug/stages?format=mermaid", "").Body.String(), "flowchart")) // the bare graph as Mermaid
	is.True(strings.HasPrefix(statusGet(h, "/debug/stages?format=dot", "").Body.String(), "digraph"))       // and DOT
	is.True(strings.Contains(statusGet(h, "/metrics", "").Body.String(), "probe 7"))                        // /metrics serves the registry
}
