package graphview

import (
	"fmt"
	"html"
	"slices"
	"strings"

	"netstages/actors"
)

// Sizes of the built-in SVG layout, in pixels. Text widths are estimated
// from character counts (about 0.6 em per character in a sans-serif font).
const (
	svgPad        = 16
	svgFont       = 12.0 // stage names
	svgSmall      = 10.0 // what a stage does, counts, edge labels
	svgLine       = 14   // line height of the small text
	svgRowGap     = 22   // between rows of boxes
	svgTitleH     = 24   // a pipeline's title line
	svgLegendH    = 30
	svgMinBoxW    = 110
	svgMinEdgeGap = 60
)

// SVG draws pipelines as SVG with a small layered layout of its own: each
// stage is placed in the column of its longest path from a source, each
// chain (connected part) of a pipeline on rows of its own, pipelines one
// under the other, a legend of the roles at the bottom. It is what Handler
// serves: unlike the go-graphviz renderer (package render) it costs a
// server no WebAssembly runtime, and the pipelines drawn here are chains,
// which need no cleverer layout.
func SVG(pipes ...Pipeline) string {
	var body strings.Builder
	y := svgPad
	width := 0
	for _, p := range pipes {
		h, w := drawPipeline(&body, p, y)
		y += h + svgRowGap
		width = max(width, w)
	}
	legendW := drawLegend(&body, pipes, y)
	width = max(width, legendW) + 2*svgPad
	height := y + svgLegendH + svgPad
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555555"/></marker></defs>
<rect width="100%%" height="100%%" fill="white"/>
%s</svg>
`, width, height, width, height, body.String())
}

// layout places one pipeline's nodes: column by longest path from a
// source over channel and direct-call edges, row by chain (the nodes those
// edges connect) and order within the column. A call into another chain
// (Pipeline.Calls) does not push it right: that chain gets rows of its own
// under its caller's, as in the Graphviz pictures. A store (Pipeline.Store)
// sits in its caller's column, on a row between the caller's chain and the
// next.
func layout(g actors.Graph) (col, row map[string]int, rows int) {
	nodes := byName(g)
	chained := func(e actors.Edge) bool { return e.Buffer != actors.CallEdge }
	col = make(map[string]int, len(g.Nodes))
	for range g.Nodes { // longest paths settle within len(nodes) rounds in a DAG
		for _, e := range g.Edges {
			switch {
			case chained(e):
				col[e.To] = max(col[e.To], col[e.From]+1)
			case nodes[e.To].Role == actors.RoleStore:
				col[e.To] = col[e.From]
			}
		}
	}
	part := make(map[string]int, len(g.Nodes))
	for i, n := range g.Nodes {
		part[n.Name] = i
	}
	for range g.Nodes { // chains take their smallest node index
		for _, e := range g.Edges {
			if chained(e) {
				m := min(part[e.From], part[e.To])
				part[e.From], part[e.To] = m, m
			}
		}
	}
	row = make(map[string]int, len(g.Nodes))
	base := 0
	for _, pt := range partOrder(g, part, nodes) {
		used := map[int]int{} // column → rows used in this part
		height := 0
		for _, n := range g.Nodes {
			if part[n.Name] != pt {
				continue
			}
			row[n.Name] = base + used[col[n.Name]]
			used[col[n.Name]]++
			height = max(height, used[col[n.Name]])
		}
		base += height
	}
	return col, row, base
}

// partOrder lists the chains top to bottom: in node order, each store
// right after the chain that calls into it.
func partOrder(g actors.Graph, part map[string]int, nodes map[string]actors.Node) []int {
	storeOf := map[int][]int{} // caller's part → parts of the stores it calls
	placed := map[int]bool{}
	for _, e := range g.Edges {
		if e.Buffer == actors.CallEdge && nodes[e.To].Role == actors.RoleStore {
			storeOf[part[e.From]] = append(storeOf[part[e.From]], part[e.To])
			placed[part[e.To]] = true
		}
	}
	var order []int
	for _, n := range g.Nodes {
		pt := part[n.Name]
		if slices.Contains(order, pt) || placed[pt] {
			continue
		}
		order = append(order, pt)
		for _, st := range storeOf[pt] {
			if !slices.Contains(order, st) {
				order = append(order, st)
			}
		}
	}
	return order
}

func textW(s string, size float64) int { return int(float64(len([]rune(s)))*size*0.6 + 0.5) }

func nodeLines(p Pipeline, n actors.Node) []string {
	lines := []string{}
	if n.Does != "" {
		lines = append(lines, n.Does)
	}
	if p.Counts != nil && n.Role != actors.RoleStore { // a store has no stage counts
		c := p.Counts[n.Name]
		lines = append(lines, fmt.Sprintf("in %d | out %d | queued %d", c.In, c.Out, c.Queued))
	}
	return lines
}

// drawPipeline writes one pipeline's title, boxes and edges with its top
// at y; it returns the height and width used.
func drawPipeline(b *strings.Builder, p Pipeline, y int) (height, width int) {
	g := p.Graph
	col, row, rows := layout(g)
	boxW, lines := svgMinBoxW, 0
	for _, n := range g.Nodes {
		boxW = max(boxW, textW(n.Name, svgFont)+24)
		ls := nodeLines(p, n)
		lines = max(lines, len(ls))
		for _, l := range ls {
			boxW = max(boxW, textW(l, svgSmall)+24)
		}
	}
	gap := svgMinEdgeGap
	for _, e := range g.Edges {
		gap = max(gap, textW(e.Label(), svgSmall-1)+20)
	}
	boxH := 26 + lines*svgLine
	heading := title(p)
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="13" font-weight="bold">%s</text>`, svgPad, y+15, esc(heading))
	width = svgPad + textW(heading, 13) + 10
	if p.Caption != "" {
		fmt.Fprintf(b, `<text x="%d" y="%d" font-size="%g" fill="#444444">%s</text>`, width, y+15, svgSmall, esc(p.Caption))
		width += textW(p.Caption, svgSmall)
	}
	b.WriteString("\n")
	top := y + svgTitleH
	at := func(name string) (x, y int) {
		return svgPad + col[name]*(boxW+gap), top + row[name]*(boxH+svgRowGap)
	}
	for _, e := range g.Edges {
		drawEdge(b, e, col[e.To] > col[e.From], boxW, boxH, at)
	}
	for _, n := range g.Nodes {
		x, ny := at(n.Name)
		fmt.Fprintf(b, `<g class="node" data-stage="%s"><title>%s</title>`, esc(n.Name), esc(string(n.Role)))
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" rx="9" fill="%s" stroke="#4d4d4d" stroke-width="1.2"/>`,
			x, ny, boxW, boxH, n.Role.Color())
		fmt.Fprintf(b, `<text x="%d" y="%d" font-size="%g" font-weight="bold" text-anchor="middle">%s</text>`,
			x+boxW/2, ny+18, svgFont, esc(n.Name))
		for i, l := range nodeLines(p, n) {
			fill := "#222222"
			if p.Counts != nil && i == len(nodeLines(p, n))-1 {
				fill = "#0b4f9c"
			}
			fmt.Fprintf(b, `<text x="%d" y="%d" font-size="%g" text-anchor="middle" fill="%s">%s</text>`,
				x+boxW/2, ny+18+(i+1)*svgLine, svgSmall, fill, esc(l))
		}
		b.WriteString("</g>\n")
		width = max(width, x+boxW)
	}
	return svgTitleH + max(rows, 1)*(boxH+svgRowGap) - svgRowGap, width
}

// drawEdge draws e: from the right side of its source to the left side of
// its target when the target is further right (a chain), otherwise (a call
// down into a store or another chain) from the bottom of the source to the
// top of the target.
func drawEdge(b *strings.Builder, e actors.Edge, rightward bool, boxW, boxH int, at func(string) (int, int)) {
	x1, y1 := at(e.From)
	x2, y2 := at(e.To)
	dash := ""
	if e.Buffer < 0 {
		dash = ` stroke-dasharray="5,3"`
	}
	var path string
	lx, ly := (x1+boxW+x2)/2, min(y1, y2)+boxH/2-5 // the label's place
	if rightward {
		x1, y1, y2 = x1+boxW, y1+boxH/2, y2+boxH/2
		mid := (x1 + x2) / 2
		path = fmt.Sprintf("M %d %d C %d %d, %d %d, %d %d", x1, y1, mid, y1, mid, y2, x2, y2)
	} else {
		x1, y1, x2 = x1+boxW/2, y1+boxH, x2+boxW/2
		mid := (y1 + y2) / 2
		path = fmt.Sprintf("M %d %d C %d %d, %d %d, %d %d", x1, y1, x1, mid, x2, mid, x2, y2)
		lx, ly = (x1+x2)/2+4, mid+4
	}
	fmt.Fprintf(b, `<path class="edge" d="%s" fill="none" stroke="#555555" stroke-width="1.2" marker-end="url(#arrow)"%s/>`, path, dash)
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="%g" text-anchor="middle" fill="#333333">%s</text>`+"\n",
		lx, ly, svgSmall-1, esc(e.Label()))
}

// drawLegend writes one coloured cell per role present at y; it returns
// the width used.
func drawLegend(b *strings.Builder, pipes []Pipeline, y int) int {
	var present []actors.Role
	for _, p := range pipes {
		for _, n := range p.Graph.Nodes {
			if !slices.Contains(present, n.Role) {
				present = append(present, n.Role)
			}
		}
	}
	x := svgPad
	for _, r := range roleOrder() {
		if !slices.Contains(present, r) {
			continue
		}
		w := textW(string(r), svgSmall) + 16
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="20" rx="6" fill="%s" stroke="#4d4d4d"/><text x="%d" y="%d" font-size="%g" text-anchor="middle">%s</text>`,
			x, y+4, w, r.Color(), x+w/2, y+18, svgSmall, html.EscapeString(string(r)))
		x += w + 6
	}
	b.WriteString("\n")
	return x
}
