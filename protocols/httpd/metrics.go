package httpd

import (
	nethttp "net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"netstages/actors"
	"netstages/actors/connio"
	"netstages/actors/graphview"
	"netstages/actors/status"
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
	for _, c := range []prometheus.Collector{m.requests, m.bytes, conns, status.NewStageCollector("httpd", meter)} {
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

// StatusHandler serves /metrics (Prometheus text format, from gather) and
// /debug/stages, the live stage view of actors/graphview: an HTML page that
// redraws the pipeline's picture with its per-stage counts, queues and
// active connections every second (for browsers; Accept: text/html), the
// same data as JSON (?format=json, and the default for other clients) or
// the picture alone (?format=svg). Until the first connection the picture
// shows the shape of a default server's pipeline with zero counts.
func StatusHandler(gather prometheus.Gatherer, meter *actors.Meter) nethttp.Handler {
	return status.Handler(gather, graphview.View{Title: "httpd", Meter: meter, Graph: defaultGraph()})
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
