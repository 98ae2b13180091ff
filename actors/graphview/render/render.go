package render

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/goccy/go-graphviz"

	"netstages/actors/graphview"
)

// Format is an output format of Render.
type Format string

// The formats.
const (
	FormatDOT     Format = "dot"     // styled Graphviz source
	FormatMermaid Format = "mermaid" // Mermaid flowchart
	FormatSVG     Format = "svg"     // laid out by go-graphviz
	FormatPNG     Format = "png"     // laid out by go-graphviz
)

// Formats lists every Format, for flag help.
func Formats() []Format { return []Format{FormatDOT, FormatMermaid, FormatSVG, FormatPNG} }

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q (want dot, mermaid, svg or png)", s)
}

// pngDPI makes PNG text sharp enough for a slide (Graphviz's default is 72).
const pngDPI = 144

// layoutMu serialises layouts. It is this package's one variable, and it
// has to be global: go-graphviz runs Graphviz in a single WebAssembly
// instance per process (created in its init), which must not be entered by
// two goroutines at once.
var layoutMu sync.Mutex

// Render writes pipes to w in format f. SVG and PNG are laid out by
// go-graphviz; renders are serialised process-wide, so Render is safe for
// concurrent use. Nothing is written when the layout fails.
func Render(ctx context.Context, w io.Writer, f Format, pipes ...graphview.Pipeline) error {
	switch f {
	case FormatDOT:
		_, err := io.WriteString(w, graphview.DOT(pipes...))
		return err
	case FormatMermaid:
		_, err := io.WriteString(w, graphview.Mermaid(pipes...))
		return err
	case FormatSVG, FormatPNG:
		out, err := Layout(ctx, graphview.DOT(pipes...), f)
		if err != nil {
			return err
		}
		_, err = w.Write(out)
		return err
	}
	return fmt.Errorf("render: unknown format %q", f)
}

// Layout lays out DOT source as SVG or PNG with go-graphviz.
func Layout(ctx context.Context, dot string, f Format) ([]byte, error) {
	gf := graphviz.SVG
	switch f {
	case FormatSVG:
	case FormatPNG:
		gf = graphviz.PNG
	default:
		return nil, fmt.Errorf("render: cannot lay out as %q", f)
	}
	layoutMu.Lock()
	defer layoutMu.Unlock()
	gv, err := newGraphviz(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("render: start graphviz: %w", err)
	}
	defer gv.Close()
	g, err := graphviz.ParseBytes([]byte(dot))
	if err != nil {
		return nil, fmt.Errorf("render: parse dot: %w", err)
	}
	defer g.Close()
	if f == FormatPNG {
		g.SetDPI(pngDPI)
	}
	var buf bytes.Buffer
	if err := gv.Render(ctx, g, gf, &buf); err != nil {
		return nil, fmt.Errorf("render: render %s: %w", f, err)
	}
	return buf.Bytes(), nil
}

// newGraphviz starts go-graphviz; for PNG with pngEngine as its "png"
// renderer instead of its own.
func newGraphviz(ctx context.Context, f Format) (*graphviz.Graphviz, error) {
	if f != FormatPNG {
		return graphviz.New(ctx)
	}
	plugins, err := pngPlugins(ctx)
	if err != nil {
		return nil, fmt.Errorf("png renderer: %w", err)
	}
	return graphviz.NewWithPlugins(ctx, plugins...)
}
