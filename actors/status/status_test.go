package status_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"netstages/actors"
	"netstages/actors/graphview"
	"netstages/actors/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestMetricsAndStagesShowTheSameCounts runs 5 items through a two-stage
// pipeline and reads them back from /metrics and from /debug/stages.
func TestMetricsAndStagesShowTheSameCounts(t *testing.T) {
	is := is.New(t)
	meter := actors.NewMeter()
	p := actors.New("demo", meter)
	src := actors.Source(p, actors.Spec{Name: "reader", Role: actors.RoleReader, Does: "makes numbers"},
		func(ctx context.Context, out *actors.Output[int]) error {
			for i := range 5 {
				out.Send(i)
			}
			return nil
		}, 4)
	actors.Sink(p, actors.Spec{Name: "writer", Role: actors.RoleWriter, Does: "drops them"}, src,
		func(ctx context.Context, in *actors.Input[int]) error {
			for range in.All() {
			}
			return nil
		})
	is.NoErr(p.Run(context.Background()))

	reg := prometheus.NewRegistry()
	is.NoErr(reg.Register(status.NewStageCollector("demo", meter)))
	h := status.Handler(reg, graphview.View{Title: "demo", Meter: meter})
	metrics := body(t, h, "/metrics")
	is.True(strings.Contains(metrics, `demo_stage_items_total{dir="in",stage="writer"} 5`))  // what the writer received
	is.True(strings.Contains(metrics, `demo_stage_items_total{dir="out",stage="reader"} 5`)) // what the reader sent
	is.True(strings.Contains(metrics, `demo_stage_queued{stage="writer"} 0`))                // nothing left waiting
	is.True(strings.Contains(body(t, h, "/debug/stages"), `"name": "writer"`))               // the live view, as JSON
	is.True(strings.HasPrefix(body(t, h, "/debug/stages?format=mermaid"), "flowchart LR"))   // and as Mermaid
	is.True(strings.HasPrefix(body(t, h, "/debug/stages?format=dot"), "digraph"))            // and DOT
}

func body(t *testing.T, h http.Handler, target string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	b, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, rec.Code, b)
	}
	return string(b)
}
