package graphview

import (
	"bytes"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"strings"
	"time"

	"netstages/actors"
)

// View is one kind of pipeline a server runs, shown by Handler.
type View struct {
	// Title heads the pipeline's box; default: the graph's name.
	Title string
	// Meter counts every pipeline of this kind (nil: none yet).
	Meter *actors.Meter
	// Graph is drawn, with zero counts, until the meter has seen a
	// pipeline; servers pass the shape they will wire (e.g. echo.Graph).
	Graph actors.Graph
}

// Status is the live state Handler shows, and its JSON form.
type Status struct {
	Time      time.Time        `json:"time"`
	Pipelines []PipelineStatus `json:"pipelines"`
}

// PipelineStatus is one View's snapshot: its graph, its active, started
// and finished pipelines, and per-stage counts in graph order.
type PipelineStatus struct {
	Title string `json:"title"`
	actors.Snapshot
}

// Handler returns the live view of views; see the package doc for what it
// serves. It is safe for concurrent use.
func Handler(views ...View) http.Handler {
	return &handler{views: views, now: time.Now, page: pageTemplate()}
}

type handler struct {
	views []View
	now   func() time.Time
	page  *template.Template // parsed once; Execute is safe for concurrent use
}

// Status returns the views' state now.
func (h *handler) status() Status {
	st := Status{Time: h.now().UTC()}
	for _, v := range h.views {
		var snap actors.Snapshot
		if v.Meter != nil {
			snap = v.Meter.Snapshot()
		}
		if len(snap.Graph.Nodes) == 0 {
			snap.Graph = v.Graph
			snap.Stages = nil
			for _, n := range v.Graph.Nodes {
				if n.Role != actors.RoleStore { // not a stage: nothing to count
					snap.Stages = append(snap.Stages, actors.StageCount{Name: n.Name, Role: n.Role})
				}
			}
		}
		title := v.Title
		if title == "" {
			title = snap.Graph.Name
		}
		st.Pipelines = append(st.Pipelines, PipelineStatus{Title: title, Snapshot: snap})
	}
	return st
}

// Annotated turns a status into pictures annotated with its counts.
func (st Status) Annotated() []Pipeline {
	var out []Pipeline
	for _, p := range st.Pipelines {
		out = append(out, Annotate(p.Title, p.Snapshot))
	}
	return out
}

// Annotate makes a picture of a meter's snapshot: its graph, each stage's
// counts, and a caption with the active, started and finished pipelines.
func Annotate(title string, s actors.Snapshot) Pipeline {
	counts := make(map[string]Counts, len(s.Stages))
	for _, c := range s.Stages {
		counts[c.Name] = Counts{In: c.In, Out: c.Out, Queued: c.Queued}
	}
	return Pipeline{Title: title, Graph: s.Graph, Counts: counts, Caption: activeCaption(s)}
}

func activeCaption(s actors.Snapshot) string {
	return strings.Join([]string{
		itoa(s.Active) + " active", itoa(int(s.Started)) + " started", itoa(int(s.Finished)) + " finished",
	}, " | ")
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			format = "html"
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	st := h.status()
	switch format {
	case "json":
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(st)
	case "svg":
		w.Header().Set("Content-Type", "image/svg+xml")
		io.WriteString(w, SVG(st.Annotated()...))
	case "mermaid", "dot": // the bare graphs as text, one after another
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for _, p := range st.Pipelines {
			if format == "mermaid" {
				io.WriteString(w, p.Graph.Mermaid())
			} else {
				io.WriteString(w, p.Graph.DOT())
			}
		}
	case "html", "fragment":
		var buf bytes.Buffer
		page := pageData{Status: st, Fragment: format == "fragment"}
		page.SVG = inlineSVG(st)
		if err := h.page.Execute(&buf, page); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(buf.Bytes())
	default:
		http.Error(w, "format must be html, json, svg, mermaid or dot", http.StatusBadRequest)
	}
}

// inlineSVG is the annotated picture, ready to put in a page. It is drawn
// by SVG, the package's own layout; the SVG is ours and its text escaped.
func inlineSVG(st Status) template.HTML { return template.HTML(SVG(st.Annotated()...)) }

type pageData struct {
	Status
	Fragment bool
	SVG      template.HTML
}

// StageRow is one stage's line in the live page's table: its counts and what it does.
type StageRow struct {
	actors.StageCount
	Does string
}

// Rows pairs each stage's counts with what it does.
func (p PipelineStatus) Rows() []StageRow {
	does := make(map[string]string, len(p.Graph.Nodes))
	for _, n := range p.Graph.Nodes {
		does[n.Name] = n.Does
	}
	rows := make([]StageRow, 0, len(p.Stages))
	for _, s := range p.Stages {
		rows = append(rows, StageRow{StageCount: s, Does: does[s.Name]})
	}
	return rows
}

func pageTemplate() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"clock": func(t time.Time) string { return t.Format("15:04:05 UTC") },
	}).Parse(pageHTML))
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
