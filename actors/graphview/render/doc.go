// Package render lays out graphview's styled DOT as SVG or PNG with
// github.com/goccy/go-graphviz: Graphviz compiled to WebAssembly and run by
// wazero, so no system Graphviz is needed. cmd/stagegraph uses it for
// pictures to put on a slide.
//
// Graphviz lays out both formats; SVG is drawn by Graphviz itself, PNG by
// this package's own renderer plugin (png.go, with github.com/fogleman/gg
// and the Go fonts), because go-graphviz's PNG renderer draws no edge lines
// or node outlines and half-size text at 144 DPI.
//
//	flowchart LR
//	  pipes["graphview.Pipeline"] --> dot["graphview.DOT"] --> layout["Layout (go-graphviz, serialised)"] --> out["SVG / PNG bytes"]
//
// Importing this package costs a program about 20 MB of RSS and 16 MB of
// binary from the start (go-graphviz instantiates its WebAssembly module in
// an init function), so servers use graphview.SVG instead.
//
// Render and Layout are safe for concurrent use: layouts are serialised
// process-wide, because go-graphviz has one WebAssembly instance per
// process. No goroutines are started and no channels are used.
//
// Limits: none beyond Graphviz's own; a bad DOT source is an error.
package render
