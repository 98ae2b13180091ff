package actors

import (
	"fmt"
	"strings"
)

// Role says what kind of work a stage does. The five roles of a connection
// pipeline are reader → framer → parser → handler → writer; simulator links add
// faults.
type Role string

// The stage roles.
const (
	RoleReader  Role = "reader"  // reads bytes or datagrams from the network
	RoleFramer  Role = "framer"  // cuts the byte stream into protocol units
	RoleParser  Role = "parser"  // turns units into typed requests
	RoleHandler Role = "handler" // decides the answer
	RoleWriter  Role = "writer"  // puts answers on the wire
	RoleFault   Role = "fault"   // a simulated impairment on a link
	RoleOther   Role = "other"   // anything else
)

// Spec names a stage and says what it does; it becomes a node of the Graph.
type Spec struct {
	// Name is unique within the pipeline, e.g. "framer".
	Name string
	// Role is the kind of stage.
	Role Role
	// Does is a short phrase for the picture, e.g. "cuts lines at LF".
	Does string
}

// Node is a stage in a Graph.
type Node struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	Does string `json:"does,omitempty"`
}

// Edge is a channel between two stages.
type Edge struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Type   string `json:"type"`   // Go type of the items, e.g. "[]echo.Line"
	Buffer int    `json:"buffer"` // channel capacity; -1 for a fused stage's direct call
}

// Graph is the shape of a pipeline, recorded while it is wired, so it always
// matches the code.
type Graph struct {
	Name  string `json:"name"`
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// DOT renders the graph for Graphviz, flowing left to right.
func (g Graph) DOT() string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n", g.Name)
	for _, n := range g.Nodes {
		label := n.Name
		if n.Does != "" {
			label += "\\n" + n.Does
		}
		fmt.Fprintf(&b, "  %q [label=%q, fillcolor=%q];\n", n.Name, label, roleColor(n.Role))
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "  %q -> %q [label=%q];\n", e.From, e.To, edgeLabel(e))
	}
	b.WriteString("}\n")
	return strings.ReplaceAll(b.String(), `\\n`, `\n`)
}

// Mermaid renders the graph as a Mermaid flowchart.
func (g Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, n := range g.Nodes {
		label := n.Name
		if n.Does != "" {
			label += "<br/><small>" + n.Does + "</small>"
		}
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", mermaidID(n.Name), mermaidEscape(label))
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "  %s -- \"%s\" --> %s\n", mermaidID(e.From), mermaidEscape(edgeLabel(e)), mermaidID(e.To))
	}
	return b.String()
}

func edgeLabel(e Edge) string {
	if e.Buffer == fusedBuffer {
		return e.Type + " (direct call)"
	}
	return fmt.Sprintf("%s (buf %d)", e.Type, e.Buffer)
}

func roleColor(r Role) string {
	switch r {
	case RoleReader:
		return "#cfe8fc"
	case RoleFramer:
		return "#d9f2d9"
	case RoleParser:
		return "#fff2cc"
	case RoleHandler:
		return "#fde0c5"
	case RoleWriter:
		return "#e8d9f7"
	case RoleFault:
		return "#f8cecc"
	}
	return "#eeeeee"
}

func mermaidID(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, name)
}

func mermaidEscape(s string) string {
	return strings.NewReplacer(`"`, "#quot;").Replace(s)
}
