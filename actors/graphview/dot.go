package graphview

import (
	"fmt"
	"html"
	"slices"
	"strings"

	"netstages/actors"
)

// Counts annotates one stage of a drawn graph with live numbers.
type Counts struct {
	In     uint64 // items received
	Out    uint64 // items sent on
	Queued int    // items waiting in its input channel now
}

// Pipeline is one graph to draw, with an optional title (default: the
// graph's name), a caption under the title, and live counts by stage name
// (nil: draw no counts).
type Pipeline struct {
	Title   string
	Caption string
	Graph   actors.Graph
	Counts  map[string]Counts
}

// roleOrder lists the stage roles in pipeline order, as the legend shows them.
func roleOrder() []actors.Role {
	return []actors.Role{actors.RoleReader, actors.RoleFramer, actors.RoleParser,
		actors.RoleHandler, actors.RoleWriter, actors.RoleFault, actors.RoleStore, actors.RoleOther}
}

// DOT renders pipelines as one Graphviz digraph flowing left to right. One
// pipeline is drawn on its own; several are drawn one above the other, each
// in a labelled box. A legend of the roles present closes the picture.
func DOT(pipes ...Pipeline) string {
	var b strings.Builder
	name := "stages"
	if len(pipes) == 1 {
		name = title(pipes[0])
	}
	fmt.Fprintf(&b, "digraph %s {\n", quote(name))
	b.WriteString("  rankdir=LR; newrank=true; pad=0.25; nodesep=0.35; ranksep=0.45;\n")
	b.WriteString("  fontname=\"Helvetica\"; fontsize=13; labelloc=b;\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=12, color=\"#4d4d4d\", penwidth=1.2, margin=\"0.3,0.1\"];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\", fontcolor=\"#333333\", arrowsize=0.7];\n")
	// Graphviz stacks the boxes of a left-to-right graph bottom-up, so
	// write them in reverse to read top-down in the given order.
	for i := len(pipes) - 1; i >= 0; i-- {
		p := pipes[i]
		indent := "  "
		prefix := ""
		if len(pipes) > 1 {
			prefix = fmt.Sprintf("p%d_", i)
			fmt.Fprintf(&b, "  subgraph cluster_%d {\n    style=\"rounded\"; color=\"#999999\"; labeljust=l; labelloc=t;\n    label=<%s>;\n",
				i, clusterLabel(p))
			indent = "    "
		}
		writeNodes(&b, indent, prefix, p)
		if len(pipes) > 1 {
			b.WriteString("  }\n")
		}
	}
	fmt.Fprintf(&b, "  label=<%s>;\n", legend(pipes, len(pipes) == 1))
	b.WriteString("}\n")
	return b.String()
}

func writeNodes(b *strings.Builder, indent, prefix string, p Pipeline) {
	nodes := byName(p.Graph)
	for _, n := range storesAfterCallers(p.Graph, nodes) {
		label := "<b>" + esc(n.Name) + "</b>"
		if n.Does != "" {
			label += `<br/><font point-size="10">` + esc(n.Does) + "</font>"
		}
		if p.Counts != nil && n.Role != actors.RoleStore { // a store has no stage counts
			c := p.Counts[n.Name]
			label += fmt.Sprintf(`<br/><font point-size="10" color="#0b4f9c">in %d | out %d | queued %d</font>`, c.In, c.Out, c.Queued)
		}
		shape := ""
		if n.Role == actors.RoleStore {
			shape = ", shape=cylinder" // state the stages call into, not a stage
		}
		fmt.Fprintf(b, "%s%s [label=<%s>, fillcolor=%s, tooltip=%s%s];\n",
			indent, quote(prefix+n.Name), label, quote(n.Role.Color()), quote(string(n.Role)), shape)
	}
	for _, e := range p.Graph.Edges {
		style := ""
		switch {
		case e.Buffer == actors.CallEdge && nodes[e.To].Role == actors.RoleStore:
			// A store sits in its caller's column, right under it.
			style = ", style=dashed, minlen=0, weight=10"
		case e.Buffer == actors.CallEdge:
			// A call into another chain does not rank it after the caller:
			// that chain gets its own row (the proxy's upstream side under
			// its client side) instead of doubling the picture's width.
			style = ", style=dashed, constraint=false"
		case e.Buffer < 0:
			style = ", style=dashed"
		}
		fmt.Fprintf(b, "%s%s -> %s [label=%s%s];\n", indent, quote(prefix+e.From), quote(prefix+e.To), quote(e.Label()), style)
	}
}

// storesAfterCallers lists the nodes with each store right after the
// stage that calls into it, where Graphviz then stacks it (under the
// caller, above the chains that follow).
func storesAfterCallers(g actors.Graph, nodes map[string]actors.Node) []actors.Node {
	var out []actors.Node
	placed := map[string]bool{}
	for _, n := range g.Nodes {
		if n.Role == actors.RoleStore {
			continue
		}
		out = append(out, n)
		for _, e := range g.Edges {
			if e.From == n.Name && e.Buffer == actors.CallEdge && nodes[e.To].Role == actors.RoleStore && !placed[e.To] {
				out = append(out, nodes[e.To])
				placed[e.To] = true
			}
		}
	}
	for _, n := range g.Nodes { // stores nobody calls, last
		if n.Role == actors.RoleStore && !placed[n.Name] {
			out = append(out, n)
		}
	}
	return out
}

// byName indexes a graph's nodes by name.
func byName(g actors.Graph) map[string]actors.Node {
	nodes := make(map[string]actors.Node, len(g.Nodes))
	for _, n := range g.Nodes {
		nodes[n.Name] = n
	}
	return nodes
}

func clusterLabel(p Pipeline) string {
	s := "<b>" + esc(title(p)) + "</b>"
	if p.Caption != "" {
		s += `<br align="left"/><font point-size="10">` + esc(p.Caption) + `</font>`
	}
	return s + `<br align="left"/>`
}

// legend is an HTML-like table: the title (for a single pipeline) and one
// coloured cell per role present.
func legend(pipes []Pipeline, withTitle bool) string {
	var present []actors.Role
	for _, p := range pipes {
		for _, n := range p.Graph.Nodes {
			if !slices.Contains(present, n.Role) {
				present = append(present, n.Role)
			}
		}
	}
	var b strings.Builder
	b.WriteString(`<table border="0" cellspacing="6" cellpadding="5"><tr>`)
	if withTitle {
		fmt.Fprintf(&b, `<td><b>%s</b></td>`, esc(title(pipes[0])))
		if pipes[0].Caption != "" {
			fmt.Fprintf(&b, `<td><font point-size="10">%s</font></td>`, esc(pipes[0].Caption))
		}
	}
	roles := roleOrder()
	for _, r := range roles {
		if slices.Contains(present, r) {
			fmt.Fprintf(&b, `<td bgcolor="%s" border="1" color="#4d4d4d" style="rounded"><font point-size="10">%s</font></td>`, r.Color(), r)
		}
	}
	for _, r := range present {
		if !slices.Contains(roles, r) {
			fmt.Fprintf(&b, `<td bgcolor="%s" border="1"><font point-size="10">%s</font></td>`, r.Color(), esc(string(r)))
		}
	}
	b.WriteString("</tr></table>")
	return b.String()
}

func title(p Pipeline) string {
	if p.Title != "" {
		return p.Title
	}
	return p.Graph.Name
}

// quote makes a DOT double-quoted string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// esc escapes text for an HTML-like label.
func esc(s string) string { return html.EscapeString(s) }
