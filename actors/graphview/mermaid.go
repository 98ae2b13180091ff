package graphview

import (
	"fmt"
	"strings"
)

// Mermaid renders pipelines as one Mermaid flowchart, left to right; with
// several, each is a subgraph. One pipeline without counts gives exactly
// its actors.Graph.Mermaid.
func Mermaid(pipes ...Pipeline) string {
	if len(pipes) == 1 && pipes[0].Counts == nil {
		return pipes[0].Graph.Mermaid()
	}
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for i, p := range pipes {
		prefix := fmt.Sprintf("p%d_", i)
		fmt.Fprintf(&b, "  subgraph %s[\"%s\"]\n    direction LR\n", prefix+"box", mermaidText(title(p)))
		for _, n := range p.Graph.Nodes {
			label := n.Name
			if n.Does != "" {
				label += "<br/><small>" + n.Does + "</small>"
			}
			if p.Counts != nil {
				c := p.Counts[n.Name]
				label += fmt.Sprintf("<br/>in %d | out %d | queued %d", c.In, c.Out, c.Queued)
			}
			fmt.Fprintf(&b, "    %s[\"%s\"]\n", mermaidID(prefix+n.Name), mermaidText(label))
		}
		for _, e := range p.Graph.Edges {
			fmt.Fprintf(&b, "    %s -- \"%s\" --> %s\n", mermaidID(prefix+e.From), mermaidText(e.Label()), mermaidID(prefix+e.To))
		}
		b.WriteString("  end\n")
	}
	return b.String()
}

func mermaidID(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, name)
}

func mermaidText(s string) string { return strings.ReplaceAll(s, `"`, "#quot;") }
