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
	RoleStore   Role = "store"   // state stages call into, not a stage (the proxy's cache): Pipeline.Store
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

// Edge is a channel between two stages, a fused stage's direct call, or a
// call one stage makes into another chain (Pipeline.Calls).
type Edge struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Type   string `json:"type"`   // Go type of the items, e.g. "[]echo.Line"
	Buffer int    `json:"buffer"` // channel capacity; DirectCall or CallEdge when there is no channel
}

// Edge buffers that are not channels.
const (
	// DirectCall marks a fused stage: its producer calls it directly.
	DirectCall = fusedBuffer
	// CallEdge marks Pipeline.Calls: a stage hands work to another chain
	// by calling into it, outside the chain's own edges.
	CallEdge = -2
)

// Label says what flows on the edge: the Go type and the channel's buffer,
// "direct call" for a fused stage, or "call" for Pipeline.Calls.
func (e Edge) Label() string {
	switch e.Buffer {
	case DirectCall:
		return e.Type + " (direct call)"
	case CallEdge:
		return e.Type + " (call)"
	}
	return fmt.Sprintf("%s (buf %d)", e.Type, e.Buffer)
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
		shape := ""
		if n.Role == RoleStore {
			shape = ", shape=cylinder"
		}
		fmt.Fprintf(&b, "  %q [label=%q, fillcolor=%q%s];\n", n.Name, label, n.Role.Color(), shape)
	}
	for _, e := range g.Edges {
		style := ""
		if e.Buffer == CallEdge {
			style = ", style=dashed"
		}
		fmt.Fprintf(&b, "  %q -> %q [label=%q%s];\n", e.From, e.To, e.Label(), style)
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
		open, closing := "[", "]"
		if n.Role == RoleStore {
			open, closing = "[(", ")]" // a cylinder: state, not a stage
		}
		fmt.Fprintf(&b, "  %s%s\"%s\"%s\n", mermaidID(n.Name), open, mermaidEscape(label), closing)
	}
	for _, e := range g.Edges {
		arrow := "-- \"%s\" -->"
		if e.Buffer == CallEdge {
			arrow = "-. \"%s\" .->"
		}
		fmt.Fprintf(&b, "  %s "+arrow+" %s\n", mermaidID(e.From), mermaidEscape(e.Label()), mermaidID(e.To))
	}
	return b.String()
}

// Color is the fill colour of a stage of role r in every picture (DOT,
// the styled slides and the live page), so they all agree.
func (r Role) Color() string {
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
	case RoleStore:
		return "#d5e8e4"
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
