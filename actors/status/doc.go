// Package status is the status surface every netstages server offers on its
// -status-addr: /metrics for Prometheus and /debug/stages, the live stage
// view of actors/graphview. It also reports a Meter's per-stage counts as
// Prometheus metrics, so a dashboard sees what the stage page shows.
//
//	flowchart LR
//	  meter["actors.Meter"] --> collector["StageCollector: NAME_stage_items_total, NAME_stage_queued"]
//	  collector --> registry["prometheus.Registry"] --> metrics["GET /metrics"]
//	  meter --> view["graphview.Handler"] --> stages["GET /debug/stages"]
//
// The package starts no goroutines and closes no channels; the collector
// reads the meter's snapshot at scrape time and is safe for concurrent use.
package status
