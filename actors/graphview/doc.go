// Package graphview draws actors.Graph pictures and serves them live.
//
// Pictures: DOT styles one or more graphs for a slide — left to right, one
// colour per stage role (with a legend), the stage's name in bold over what
// it does, each edge labelled with the Go type it carries and its buffer
// ("direct call", dashed, for a fused stage). Mermaid does the same for
// Markdown. SVG draws the same picture with a small layout of its own
// (pipelines are chains). Package render lays the DOT out as SVG or PNG with
// github.com/goccy/go-graphviz (Graphviz compiled to WebAssembly, no system
// Graphviz) for stagegraph; servers do not import it, because go-graphviz
// instantiates its WebAssembly module when the program starts, which cost
// echod about 20 MB of RSS and 16 MB of binary whether the page was used
// or not.
//
//	flowchart LR
//	  graph["actors.Graph"] --> dot["DOT (styled)"] --> render["render: go-graphviz"] --> out["SVG / PNG (stagegraph)"]
//	  graph --> mermaid["Mermaid"]
//	  meter["actors.Meter.Snapshot"] --> handler["Handler: /debug/stages"] --> svg["SVG (own layout)"]
//
// Live view: Handler serves, at whatever path it is mounted on (servers use
// /debug/stages), an HTML page with the SVG of each meter's pipeline
// annotated with per-stage counts (items in, out, queued now) and the active
// pipelines (connections), refreshing itself every second; the same data as
// JSON (?format=json, or any request that does not accept text/html); the
// annotated SVG alone (?format=svg); the bare graphs as Mermaid or DOT text
// (?format=mermaid, ?format=dot). Before a meter has seen its first
// pipeline, the page draws the View's Graph with zero counts.
//
// This package starts no goroutines and closes no channels; its functions
// and Handler are safe for concurrent use (Handler only reads the meters).
//
// Limits: a graph is drawn as given; the handler reads no request body and
// accepts only GET and HEAD.
package graphview
