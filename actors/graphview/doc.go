// Package graphview draws actors.Graph pictures and serves them live.
//
// Pictures: DOT styles one or more graphs for a slide — left to right, one
// colour per stage role (with a legend), the stage's name in bold over what
// it does, each edge labelled with the Go type it carries and its buffer
// ("direct call", dashed, for a fused stage). Mermaid does the same for
// Markdown. A Renderer turns DOT into SVG or PNG with
// github.com/goccy/go-graphviz: Graphviz compiled to WebAssembly and run by
// wazero, so no system Graphviz is needed.
//
//	flowchart LR
//	  graph["actors.Graph"] --> dot["DOT (styled)"] --> renderer["Renderer (go-graphviz)"] --> out["SVG / PNG"]
//	  graph --> mermaid["Mermaid"]
//	  meter["actors.Meter.Snapshot"] --> handler["Handler: /debug/stages"] --> dot
//
// Live view: Handler serves, at whatever path it is mounted on (servers use
// /debug/stages), an HTML page with the SVG of each meter's pipeline
// annotated with per-stage counts (items in, out, queued now) and the active
// pipelines (connections), refreshing itself every second; the same data as
// JSON (?format=json, or any request that does not accept text/html); the
// annotated SVG alone (?format=svg). Before a meter has seen its first
// pipeline, the page draws the View's Graph with zero counts.
//
// This package starts no goroutines of its own and closes no channels. A
// Renderer is safe for concurrent use (renders are serialised; the Graphviz
// runtime is created on first use and released by Close); so is Handler.
//
// Limits: a graph is drawn as given; the handler reads no request body and
// accepts only GET and HEAD.
package graphview
