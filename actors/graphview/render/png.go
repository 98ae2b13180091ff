package render

import (
	"bytes"
	"context"
	"fmt"
	"image/color"

	"github.com/fogleman/gg"
	"github.com/goccy/go-graphviz/gvc"
	"github.com/golang/freetype/truetype"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gobolditalic"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/goregular"
)

// pngEngine draws Graphviz's render calls into a PNG with gg. It replaces
// go-graphviz's own PNG renderer (v0.2.10), which draws no edge lines and no
// node outlines (every bezier arrives marked filled, so an edge is "filled"
// to nothing) and draws text at 72 DPI however large the page is scaled. One
// engine serves one render at a time (Layout holds layoutMu).
type pngEngine struct {
	*gvc.DefaultRenderEngine
	dc    *gg.Context
	faces map[fontKey]font.Face
}

type fontKey struct {
	flags uint
	size  float64
}

// Graphviz's font flags (HTML <b> and <i>).
const (
	fontBold   = 1
	fontItalic = 2
)

func newPNGEngine() *pngEngine {
	return &pngEngine{DefaultRenderEngine: &gvc.DefaultRenderEngine{}, faces: map[fontKey]font.Face{}}
}

// pngPlugins are the render and device plugins that make go-graphviz's
// "png" format use pngEngine.
func pngPlugins(ctx context.Context) ([]gvc.Plugin, error) {
	rp, err := gvc.NewRenderPlugin(ctx, "png", newPNGEngine())
	if err != nil {
		return nil, err
	}
	dp, err := gvc.PNGDevicePlugin(ctx)
	if err != nil {
		return nil, err
	}
	return []gvc.Plugin{rp, dp}, nil
}

func (e *pngEngine) x(job *gvc.Job, v float64) float64 { return job.Scale().X() * v }
func (e *pngEngine) y(job *gvc.Job, v float64) float64 { return -job.Scale().Y() * v }

// BeginPage starts a white canvas of the page's size in pixels.
func (e *pngEngine) BeginPage(_ context.Context, job *gvc.Job) error {
	e.dc = gg.NewContext(int(job.Width()), int(job.Height()))
	e.dc.SetColor(color.White)
	e.dc.Clear()
	t := job.Translation()
	e.dc.Translate(e.x(job, t.X()), e.y(job, t.Y()))
	return nil
}

// EndPage encodes the canvas as the job's output.
func (e *pngEngine) EndPage(_ context.Context, job *gvc.Job) error {
	var buf bytes.Buffer
	if err := e.dc.EncodePNG(&buf); err != nil {
		return fmt.Errorf("render: encode png: %w", err)
	}
	job.SetOutputData(buf.Bytes())
	job.SetOutputDataPosition(uint(buf.Len()))
	return nil
}

func rgba(c *gvc.Color) color.NRGBA {
	v := c.RGBAUint()
	return color.NRGBA{R: uint8(v[0]), G: uint8(v[1]), B: uint8(v[2]), A: uint8(v[3])}
}

// paint fills the current path with the fill colour when filled, then
// strokes it with the pen (scaled like everything else) unless the pen is
// none.
func (e *pngEngine) paint(job *gvc.Job, filled bool) {
	o := job.Object()
	if filled {
		e.dc.SetColor(rgba(o.FillColor()))
		if o.Pen() == gvc.PenNone {
			e.dc.Fill()
			return
		}
		e.dc.FillPreserve()
	}
	if o.Pen() == gvc.PenNone {
		e.dc.ClearPath()
		return
	}
	w := o.PenWidth() * job.Scale().X()
	switch o.Pen() {
	case gvc.PenDashed:
		e.dc.SetDash(5*w, 3*w)
	case gvc.PenDotted:
		e.dc.SetDash(w, 3*w)
	default:
		e.dc.SetDash()
	}
	e.dc.SetLineWidth(w)
	e.dc.SetColor(rgba(o.PenColor()))
	e.dc.Stroke()
	e.dc.SetDash()
}

func (e *pngEngine) path(job *gvc.Job, a []*gvc.PointFloat) {
	e.dc.MoveTo(e.x(job, a[0].X()), e.y(job, a[0].Y()))
	for _, p := range a[1:] {
		e.dc.LineTo(e.x(job, p.X()), e.y(job, p.Y()))
	}
}

// Polygon draws a closed polygon (arrowheads, table cells, the page).
func (e *pngEngine) Polygon(_ context.Context, job *gvc.Job, a []*gvc.PointFloat, filled bool) error {
	if len(a) == 0 {
		return nil
	}
	e.path(job, a)
	e.dc.ClosePath()
	e.paint(job, filled)
	return nil
}

// Polyline draws an open line.
func (e *pngEngine) Polyline(_ context.Context, job *gvc.Job, a []*gvc.PointFloat) error {
	if len(a) == 0 {
		return nil
	}
	e.path(job, a)
	e.paint(job, false)
	return nil
}

// BezierCurve draws edges and rounded boxes. The filled argument cannot be
// trusted (go-graphviz passes true for every curve), so a curve is filled
// when its object is (a filled rounded node) or when its pen is invisible
// (the background of a rounded table cell, drawn before its outline); an
// edge is only stroked.
func (e *pngEngine) BezierCurve(_ context.Context, job *gvc.Job, a []*gvc.PointFloat, _ bool) error {
	if len(a) < 4 {
		return nil
	}
	e.dc.MoveTo(e.x(job, a[0].X()), e.y(job, a[0].Y()))
	for i := 1; i+2 < len(a); i += 3 {
		e.dc.CubicTo(e.x(job, a[i].X()), e.y(job, a[i].Y()),
			e.x(job, a[i+1].X()), e.y(job, a[i+1].Y()),
			e.x(job, a[i+2].X()), e.y(job, a[i+2].Y()))
	}
	o := job.Object()
	e.paint(job, o.Fill() != gvc.FillNone || o.PenColor().RGBAUint()[3] == 0)
	return nil
}

// Ellipse draws an ellipse given its centre and a corner.
func (e *pngEngine) Ellipse(_ context.Context, job *gvc.Job, a []*gvc.PointFloat, filled bool) error {
	if len(a) < 2 {
		return nil
	}
	e.dc.DrawEllipse(e.x(job, a[0].X()), e.y(job, a[0].Y()),
		e.x(job, a[1].X()-a[0].X()), job.Scale().Y()*(a[1].Y()-a[0].Y()))
	e.paint(job, filled)
	return nil
}

// TextSpan draws one run of text with a Go font at the page's scale, so
// text keeps the size Graphviz laid it out for at any DPI.
func (e *pngEngine) TextSpan(_ context.Context, job *gvc.Job, p *gvc.PointFloat, span *gvc.TextSpan) error {
	f := span.Font()
	face, err := e.face(f.Flags(), f.Size()*job.Scale().X())
	if err != nil {
		return err
	}
	x := e.x(job, p.X())
	switch span.Just() {
	case 'r':
		x -= e.x(job, span.Size().X())
	case 'l':
	default:
		x -= e.x(job, span.Size().X()/2)
	}
	y := e.y(job, p.Y()+span.YOffsetCenterLine()+span.YOffsetLayout())
	e.dc.SetFontFace(face)
	e.dc.SetColor(rgba(job.Object().PenColor()))
	e.dc.DrawString(span.Text(), x, y)
	return nil
}

func (e *pngEngine) face(flags uint, size float64) (font.Face, error) {
	k := fontKey{flags & (fontBold | fontItalic), size}
	if f, ok := e.faces[k]; ok {
		return f, nil
	}
	ttf := goregular.TTF
	switch k.flags {
	case fontBold:
		ttf = gobold.TTF
	case fontItalic:
		ttf = goitalic.TTF
	case fontBold | fontItalic:
		ttf = gobolditalic.TTF
	}
	ft, err := truetype.Parse(ttf)
	if err != nil {
		return nil, fmt.Errorf("render: font: %w", err)
	}
	f := truetype.NewFace(ft, &truetype.Options{Size: size, Hinting: font.HintingFull})
	e.faces[k] = f
	return f, nil
}
