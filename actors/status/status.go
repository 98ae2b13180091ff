package status

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"netstages/actors"
	"netstages/actors/graphview"
)

// Handler serves /metrics (Prometheus text format, from gather) and
// /debug/stages (the live view of graphview.Handler for view: an HTML page
// for browsers, JSON by default, ?format=svg, mermaid or dot).
func Handler(gather prometheus.Gatherer, view graphview.View) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(gather, promhttp.HandlerOpts{}))
	mux.Handle("GET /debug/stages", graphview.Handler(view))
	return mux
}

// stageCollector reports a meter's per-stage counts at scrape time.
type stageCollector struct {
	meter         *actors.Meter
	items, queued *prometheus.Desc
}

// NewStageCollector reports meter's stages as NAME_stage_items_total
// {stage, dir="in"|"out"} (items, that is batches, each stage received or
// sent over all connections) and NAME_stage_queued{stage} (items waiting in
// its input channel now), NAME being the server's name, e.g. "httpd".
func NewStageCollector(name string, meter *actors.Meter) prometheus.Collector {
	return stageCollector{
		meter: meter,
		items: prometheus.NewDesc(name+"_stage_items_total",
			"Items (batches) a stage received (in) or sent (out), over all connections.", []string{"stage", "dir"}, nil),
		queued: prometheus.NewDesc(name+"_stage_queued", "Items waiting in a stage's input channel now.", []string{"stage"}, nil),
	}
}

// Describe sends the two descriptors.
func (c stageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.items
	ch <- c.queued
}

// Collect reads the meter's snapshot: per-stage in/out counts and queues.
func (c stageCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.meter.Snapshot().Stages {
		ch <- prometheus.MustNewConstMetric(c.items, prometheus.CounterValue, float64(s.In), s.Name, "in")
		ch <- prometheus.MustNewConstMetric(c.items, prometheus.CounterValue, float64(s.Out), s.Name, "out")
		ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(s.Queued), s.Name)
	}
}
