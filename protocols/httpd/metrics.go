package httpd

import (
	nethttp "net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"netstages/actors"
	"netstages/actors/connio"
	"netstages/actors/graphview"
	"netstages/protocols/http"
)

// Metrics counts responses for Prometheus. Counting is an atomic add per
// response; the per-status counters are resolved once and cached. Safe for
// concurrent use.
type Metrics struct {
	requests *prometheus.CounterVec
	bytes    prometheus.Counter
	byStatus [600]atomic.Pointer[prometheus.Counter]
}

// NewMetrics registers the server's metrics in reg: responses by status,
// body bytes sent, active connections (from active), and each stage's item
// counts and queue length from meter.
func NewMetrics(reg prometheus.Registerer, meter *actors.Meter, active func() int64) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "httpd_requests_total", Help: "Responses sent, by status code.",
		}, []string{"code"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "httpd_response_body_bytes_total", Help: "Response body bytes sent.",
		}),
	}
	conns := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "httpd_active_connections", Help: "Connections being served now.",
	}, func() float64 { return float64(active()) })
	for _, c := range []prometheus.Collector{m.requests, m.bytes, conns, newStageCollector(meter)} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) observe(status int, bytes int64) {
	if status < 100 || status >= len(m.byStatus) {
		status = 599
	}
	c := m.byStatus[status].Load()
	if c == nil {
		counter := m.requests.WithLabelValues(strconv.Itoa(status))
		m.byStatus[status].Store(&counter)
		c = &counter
	}
	(*c).Inc()
	m.bytes.Add(float64(bytes))
}

// stageCollector reports the meter's per-stage counts at scrape time.
type stageCollector struct {
	meter         *actors.Meter
	items, queued *prometheus.Desc
}

func newStageCollector(meter *actors.Meter) stageCollector {
	return stageCollector{
		meter:  meter,
		items:  prometheus.NewDesc("httpd_stage_items_total", "Items (batches) a stage received (in) or sent (out), over all connections.", []string{"stage", "dir"}, nil),
		queued: prometheus.NewDesc("httpd_stage_queued", "Items waiting in a stage's input channel now.", []string{"stage"}, nil),
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

// StatusHandler serves /metrics (Prometheus text format, from gather) and
// /debug/stages, the live stage view of actors/graphview: an HTML page that
// redraws the pipeline's picture with its per-stage counts, queues and
// active connections every second (for browsers; Accept: text/html), the
// same data as JSON (?format=json, and the default for other clients) or
// the picture alone (?format=svg). Until the first connection the picture
// shows the shape of a default server's pipeline with zero counts.
func StatusHandler(gather prometheus.Gatherer, meter *actors.Meter) nethttp.Handler {
	mux := nethttp.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(gather, promhttp.HandlerOpts{}))
	mux.Handle("GET /debug/stages", graphview.Handler(graphview.View{Title: "httpd", Meter: meter, Graph: defaultGraph()}))
	return mux
}

// defaultGraph is the shape of a default server's pipeline, wired on a
// pipe with a meter of its own (no root is opened, nothing is counted).
func defaultGraph() actors.Graph {
	s := &Server{
		cfg:   Config{Limits: http.Limits{}.WithDefaults(), Now: time.Now},
		reads: connio.NewPool(), writes: connio.NewWriterPool(), bodies: newBodyPool(),
		meter: actors.NewMeter(),
	}
	s.date = http.NewDateCache(s.cfg.Now)
	return s.Graph()
}
