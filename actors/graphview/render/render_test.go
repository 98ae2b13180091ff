package render_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/actors"
	"netstages/actors/graphview"
	"netstages/actors/graphview/render"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func graph() actors.Graph {
	return actors.Graph{
		Name:  "demo",
		Nodes: []actors.Node{{Name: "reader", Role: actors.RoleReader, Does: "reads"}, {Name: "writer", Role: actors.RoleWriter}},
		Edges: []actors.Edge{{From: "reader", To: "writer", Type: "[]demo.Chunk", Buffer: 4}},
	}
}

func TestRenderSVGAndPNG(t *testing.T) {
	is := is.New(t)
	var svg, png bytes.Buffer
	is.NoErr(render.Render(context.Background(), &svg, render.FormatSVG, graphview.Pipeline{Graph: graph()})) // lay out SVG
	is.True(strings.Contains(svg.String(), "<svg"))                                                           // SVG
	for _, n := range graph().Nodes {
		is.True(strings.Contains(svg.String(), ">"+n.Name+"<")) // every stage name is text in the picture
	}
	is.NoErr(render.Render(context.Background(), &png, render.FormatPNG, graphview.Pipeline{Graph: graph()})) // lay out PNG
	is.True(bytes.HasPrefix(png.Bytes(), []byte("\x89PNG\r\n\x1a\n")))                                        // PNG signature
	_, err := render.ParseFormat("gif")
	is.True(err != nil) // unknown formats are refused
	_, err = render.Layout(context.Background(), "digraph { a -> }", render.FormatSVG)
	is.True(err != nil) // bad DOT is an error, not a panic
}

func TestTextFormatsNeedNoLayout(t *testing.T) {
	is := is.New(t)
	var dot, mermaid bytes.Buffer
	is.NoErr(render.Render(context.Background(), &dot, render.FormatDOT, graphview.Pipeline{Graph: graph()}))           // DOT
	is.Equal(dot.String(), graphview.DOT(graphview.Pipeline{Graph: graph()}))                                           // is graphview's
	is.NoErr(render.Render(context.Background(), &mermaid, render.FormatMermaid, graphview.Pipeline{Graph: graph()}))   // Mermaid
	is.True(strings.HasPrefix(mermaid.String(), "flowchart LR"))                                                        // left to right
	is.True(render.Render(context.Background(), &dot, render.Format("gif"), graphview.Pipeline{Graph: graph()}) != nil) // unknown format
}
