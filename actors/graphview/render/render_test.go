package render_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
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

// TestPNGDrawsEdgesOutlinesAndScaledText checks the PNG renderer draws what
// go-graphviz's own one missed: an edge's line (not only its arrowhead), a
// rounded node's outline, and text scaled with the page (PNGs are drawn at
// 144 DPI, where a 20 pt "Hg" is about 40 px tall).
func TestPNGDrawsEdgesOutlinesAndScaledText(t *testing.T) {
	is := is.New(t)
	const dot = `digraph { rankdir=LR; ranksep=1;
	  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#0000ff", fontsize=20, fontcolor="#000000"];
	  edge [color="#ff0000", arrowhead=none];
	  a [label="Hg"]; b [label="Hg"]; a -> b; }`
	out, err := render.Layout(context.Background(), dot, render.FormatPNG)
	is.NoErr(err) // laid out
	img, err := png.Decode(bytes.NewReader(out))
	is.NoErr(err) // a PNG image
	edge := spanOf(img, color.RGBA{0xff, 0, 0, 0xff})
	outline := spanOf(img, color.RGBA{0, 0, 0xff, 0xff})
	text := spanOf(img, color.RGBA{0, 0, 0, 0xff})
	is.True(edge.Dx() > 100)                    // the edge's line (1 inch at 144 DPI)
	is.True(outline.Dx() > img.Bounds().Dx()/2) // both nodes' outlines
	is.True(text.Dy() > 30)                     // text as tall as laid out at 144 DPI (a 72 DPI face is half)
}

// spanOf is the bounding box of img's pixels within 8 of c in each channel.
func spanOf(img image.Image, c color.RGBA) image.Rectangle {
	near := func(a uint32, b uint8) bool { d := int(a>>8) - int(b); return d > -8 && d < 8 }
	var r image.Rectangle
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if near(pr, c.R) && near(pg, c.G) && near(pb, c.B) {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}
