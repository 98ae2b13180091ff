package proxy

import (
	nethttp "net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"netstages/actors"
	"netstages/actors/graphview"
	"netstages/actors/status"
	"netstages/protocols/proxy/cache"
)

// collector reports the proxy's counters at scrape time: nothing is
// counted twice, Stats stays the one source.
type collector struct {
	stats  *Stats
	cache  *cache.Cache
	pool   *Pool
	active func() int64
	names  [][2]string
	descs  map[string]*prometheus.Desc
}

// metricHelp lists the metric names and help, in a fixed order.
func metricHelp() [][2]string {
	return [][2]string{
		{"proxy_requests_total", "Requests answered."},
		{"proxy_cache_hits_total", "Requests answered from the cache (X-Cache: HIT)."},
		{"proxy_cache_misses_total", "GET/HEAD requests answered from the origin (X-Cache: MISS)."},
		{"proxy_cache_revalidations_total", "Conditional requests sent for stale entries."},
		{"proxy_cache_revalidated_total", "Revalidations answered 304 (X-Cache: REVALIDATED)."},
		{"proxy_collapsed_total", "Requests that waited for a concurrent miss of the same URL."},
		{"proxy_forwarded_total", "Requests with other methods forwarded."},
		{"proxy_tunnels_total", "CONNECT tunnels opened."},
		{"proxy_upstream_errors_total", "502 and 504 answers."},
		{"proxy_client_errors_total", "4xx answers made by the proxy (400, 403, 413...)."},
		{"proxy_bytes_out_total", "Bytes written to clients."},
		{"proxy_cache_evictions_total", "Entries evicted to stay within -cache-size."},
		{"proxy_cache_stores_total", "Entries stored."},
		{"proxy_cache_entries", "Entries in the cache now."},
		{"proxy_cache_bytes", "Bytes the cache holds now."},
		{"proxy_upstream_dials_total", "Connections opened to origins."},
		{"proxy_upstream_reuses_total", "Requests sent on a kept-alive origin connection."},
		{"proxy_upstream_idle", "Idle origin connections in the pool now."},
		{"proxy_active_connections", "Client connections being served now."},
	}
}

// NewCollector returns a Prometheus collector over the proxy's Stats, its
// cache (may be nil), its origin pool, and the client connection count.
// Register stage counts separately with status.NewStageCollector.
func NewCollector(cfg Config, active func() int64) prometheus.Collector {
	c := &collector{stats: cfg.Stats, cache: cfg.Cache, pool: cfg.Pool, active: active, names: metricHelp(), descs: map[string]*prometheus.Desc{}}
	for _, m := range c.names {
		c.descs[m[0]] = prometheus.NewDesc(m[0], m[1], nil, nil)
	}
	return c
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.names {
		ch <- c.descs[m[0]]
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats
	var cs cache.Stats
	if c.cache != nil {
		cs = c.cache.Stats()
	}
	ps := c.pool.Stats()
	values := map[string]float64{
		"proxy_requests_total":            float64(s.Requests.Load()),
		"proxy_cache_hits_total":          float64(s.Hits.Load()),
		"proxy_cache_misses_total":        float64(s.Misses.Load()),
		"proxy_cache_revalidations_total": float64(s.Revalidations.Load()),
		"proxy_cache_revalidated_total":   float64(s.Revalidated.Load()),
		"proxy_collapsed_total":           float64(s.Collapsed.Load()),
		"proxy_forwarded_total":           float64(s.Forwarded.Load()),
		"proxy_tunnels_total":             float64(s.Tunnels.Load()),
		"proxy_upstream_errors_total":     float64(s.UpstreamErrors.Load()),
		"proxy_client_errors_total":       float64(s.ClientErrors.Load()),
		"proxy_bytes_out_total":           float64(s.BytesOut.Load()),
		"proxy_cache_evictions_total":     float64(cs.Evictions),
		"proxy_cache_stores_total":        float64(cs.Stores),
		"proxy_cache_entries":             float64(cs.Entries),
		"proxy_cache_bytes":               float64(cs.Bytes),
		"proxy_upstream_dials_total":      float64(ps.Dials),
		"proxy_upstream_reuses_total":     float64(ps.Reuses),
		"proxy_upstream_idle":             float64(ps.Idle),
		"proxy_active_connections":        float64(c.active()),
	}
	for _, m := range c.names {
		kind := prometheus.CounterValue
		if !strings.HasSuffix(m[0], "_total") {
			kind = prometheus.GaugeValue
		}
		ch <- prometheus.MustNewConstMetric(c.descs[m[0]], kind, values[m[0]])
	}
}

// StatusHandler serves /metrics (Prometheus text format, from gather) and
// /debug/stages, the live stage view of actors/graphview: an HTML page that
// redraws the pipeline's picture with its per-stage counts, queues and
// active connections every second (for browsers; Accept: text/html), the
// same data as JSON (?format=json, and the default for other clients) or
// the picture alone (?format=svg); ?format=mermaid or ?format=dot give
// the bare graph as text. Until the first connection the picture shows the
// shape of Graph with zero counts.
func StatusHandler(gather prometheus.Gatherer, meter *actors.Meter) nethttp.Handler {
	return status.Handler(gather, graphview.View{Title: "proxy", Meter: meter, Graph: Graph()})
}
