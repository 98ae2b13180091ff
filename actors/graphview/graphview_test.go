package graphview_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/actors"
	"netstages/actors/graphview"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func graph() actors.Graph {
	return actors.Graph{
		Name: "demo",
		Nodes: []actors.Node{
			{Name: "reader", Role: actors.RoleReader, Does: "reads <bytes> & more"},
			{Name: "handler", Role: actors.RoleHandler, Does: `says "hi"`},
			{Name: "writer", Role: actors.RoleWriter},
		},
		Edges: []actors.Edge{
			{From: "reader", To: "handler", Type: "[]demo.Chunk", Buffer: 4},
			{From: "handler", To: "writer", Type: "[]demo.Reply", Buffer: -1},
		},
	}
}

func TestDOTStylesForASlide(t *testing.T) {
	is := is.New(t)
	dot := graphview.DOT(graphview.Pipeline{Graph: graph(), Counts: map[string]graphview.Counts{"handler": {In: 7, Out: 6, Queued: 1}}})
	is.True(strings.Contains(dot, "rankdir=LR"))                                       // flows left to right
	is.True(strings.Contains(dot, `fillcolor="`+actors.RoleReader.Color()+`"`))        // coloured by role
	is.True(strings.Contains(dot, "reads &lt;bytes&gt; &amp; more"))                   // HTML label text is escaped
	is.True(strings.Contains(dot, `says &#34;hi&#34;`))                                // quotes too
	is.True(strings.Contains(dot, `label="[]demo.Reply (direct call)", style=dashed`)) // fused edge is dashed
	is.True(strings.Contains(dot, `label="[]demo.Chunk (buf 4)"`))                     // edges say what flows
	is.True(strings.Contains(dot, "in 7 | out 6 | queued 1"))                          // counts annotate the stage
	is.True(strings.Contains(dot, `<td bgcolor="`+actors.RoleWriter.Color()+`"`))      // a legend of the roles
	is.True(!strings.Contains(dot, actors.RoleFault.Color()))                          // only roles present
}

// TestDOTCallEdgeDoesNotRank: a call into another chain (the proxy's
// handler into its upstream side) is drawn dashed but does not rank the
// callee after the caller, so that chain gets a row of its own.
func TestDOTCallEdgeDoesNotRank(t *testing.T) {
	is := is.New(t)
	g := graph()
	g.Nodes = append(g.Nodes, actors.Node{Name: "upstream", Role: actors.RoleOther})
	g.Edges = append(g.Edges, actors.Edge{From: "handler", To: "upstream", Type: "*demo.Call", Buffer: actors.CallEdge})
	dot := graphview.DOT(graphview.Pipeline{Graph: g})
	is.True(strings.Contains(dot, `"handler" -> "upstream" [label="*demo.Call (call)", style=dashed, constraint=false]`)) // the call edge
	is.Equal(strings.Count(dot, "constraint=false"), 1)                                                                   // and only it
}

func TestSeveralPipelinesGetBoxesAndDistinctIDs(t *testing.T) {
	is := is.New(t)
	g := graph()
	dot := graphview.DOT(graphview.Pipeline{Title: "sender", Graph: g}, graphview.Pipeline{Title: "receiver", Graph: g})
	is.True(strings.Contains(dot, "subgraph cluster_0") && strings.Contains(dot, "subgraph cluster_1")) // one box each
	is.True(strings.Contains(dot, `"p0_reader"`) && strings.Contains(dot, `"p1_reader"`))               // same stage names, distinct nodes
	m := graphview.Mermaid(graphview.Pipeline{Title: "sender", Graph: g}, graphview.Pipeline{Title: "receiver", Graph: g})
	is.True(strings.Contains(m, `subgraph p0_box["sender"]`)) // Mermaid subgraphs too
	is.True(strings.Contains(m, "p1_handler -- \"[]demo.Reply (direct call)\" --> p1_writer"))
	is.Equal(graphview.Mermaid(graphview.Pipeline{Graph: g}), g.Mermaid()) // one plain pipeline is the foundation's Mermaid
}

func TestSVGDrawsEveryStageAndEdge(t *testing.T) {
	is := is.New(t)
	g := graph()
	svg := graphview.SVG(graphview.Pipeline{Graph: g, Counts: map[string]graphview.Counts{"writer": {In: 3}}})
	is.True(strings.HasPrefix(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"")) // an SVG document
	for _, n := range g.Nodes {
		is.True(strings.Contains(svg, `data-stage="`+n.Name+`"`)) // a box per stage
		is.True(strings.Contains(svg, ">"+n.Name+"</text>"))      // named
	}
	is.True(strings.Contains(svg, "reads &lt;bytes&gt; &amp; more"))       // text escaped
	is.Equal(strings.Count(svg, `class="edge"`), len(g.Edges))             // an arrow per edge
	is.True(strings.Contains(svg, `stroke-dasharray`))                     // the direct call is dashed
	is.True(strings.Contains(svg, ">in 3 | out 0 | queued 0</text>"))      // counts annotate the stage
	is.True(strings.Contains(svg, `fill="`+actors.RoleReader.Color()+`"`)) // coloured by role
	is.NoErr(xml.Unmarshal([]byte(svg), new(struct{})))                    // well-formed XML
}

func TestSVGLaysOutChainsLeftToRight(t *testing.T) {
	is := is.New(t)
	// Two chains in one pipeline (like the ping client): a→b and c→d→e.
	g := actors.Graph{Name: "two", Nodes: []actors.Node{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}, {Name: "e"}},
		Edges: []actors.Edge{{From: "a", To: "b"}, {From: "c", To: "d"}, {From: "d", To: "e"}}}
	svg := graphview.SVG(graphview.Pipeline{Graph: g})
	pos := map[string][2]int{}
	for _, n := range g.Nodes {
		var x, y int
		i := strings.Index(svg, `data-stage="`+n.Name+`"`)
		_, err := fmt.Sscanf(svg[strings.Index(svg[i:], "<rect")+i:], `<rect x="%d" y="%d"`, &x, &y)
		is.NoErr(err) // find the box
		pos[n.Name] = [2]int{x, y}
	}
	is.True(pos["a"][0] < pos["b"][0])                              // edges point right
	is.True(pos["c"][0] < pos["d"][0] && pos["d"][0] < pos["e"][0]) // along the whole chain
	is.Equal(pos["a"][1], pos["b"][1])                              // a chain stays on its row
	is.True(pos["c"][1] > pos["a"][1])                              // the second chain is below the first
	is.Equal(pos["a"][0], pos["c"][0])                              // both start in the first column
}

// run drives n items through a small pipeline counted by meter.
func run(t *testing.T, meter *actors.Meter, n int) {
	t.Helper()
	p := actors.New("demo", meter)
	src := actors.Source(p, actors.Spec{Name: "reader", Role: actors.RoleReader, Does: "makes numbers"},
		func(ctx context.Context, out *actors.Output[int]) error {
			for i := range n {
				if !out.Send(i) {
					return nil
				}
			}
			return nil
		}, 4)
	actors.Sink(p, actors.Spec{Name: "writer", Role: actors.RoleWriter, Does: "drops them"}, src,
		func(ctx context.Context, in *actors.Input[int]) error {
			for range in.All() {
			}
			return nil
		})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, h http.Handler, target, accept string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandlerServesPageJSONAndSVG(t *testing.T) {
	is := is.New(t)
	meter := actors.NewMeter()
	shape := actors.Graph{Name: "demo", Nodes: []actors.Node{{Name: "reader", Role: actors.RoleReader}, {Name: "writer", Role: actors.RoleWriter}},
		Edges: []actors.Edge{{From: "reader", To: "writer", Type: "int", Buffer: 4}}}
	h := graphview.Handler(graphview.View{Title: "demo server", Meter: meter, Graph: shape})

	// Before any pipeline: the given shape with zero counts.
	var st graphview.Status
	w := get(t, h, "/debug/stages", "")
	is.Equal(w.Code, 200)                                                          // JSON by default
	is.Equal(w.Header().Get("Content-Type"), "application/json")                   // as JSON
	is.NoErr(json.Unmarshal(w.Body.Bytes(), &st))                                  // decodes
	is.Equal(len(st.Pipelines), 1)                                                 // one view
	is.Equal(st.Pipelines[0].Title, "demo server")                                 // titled
	is.Equal(len(st.Pipelines[0].Stages), 2)                                       // stages of the given shape
	is.Equal(st.Pipelines[0].Stages[0].In+st.Pipelines[0].Stages[1].In, uint64(0)) // nothing yet

	run(t, meter, 10)
	w = get(t, h, "/debug/stages?format=json", "")
	is.NoErr(json.Unmarshal(w.Body.Bytes(), &st)) // decodes
	is.Equal(st.Pipelines[0].Started, uint64(1))  // one pipeline ran
	is.Equal(st.Pipelines[0].Stages[1].Name, "writer")
	is.Equal(st.Pipelines[0].Stages[1].In, uint64(10))             // the writer counted every item
	is.Equal(st.Pipelines[0].Graph.Nodes[0].Does, "makes numbers") // the live graph replaced the shape

	w = get(t, h, "/debug/stages", "text/html,application/xhtml+xml")
	is.Equal(w.Code, 200) // a browser gets the page
	page := w.Body.String()
	is.True(strings.HasPrefix(page, "<!DOCTYPE html>"))                             // a whole page
	is.True(strings.Contains(page, "<svg"))                                         // with the picture inline
	is.True(strings.Contains(page, "in 0 | out 10 | queued 0"))                     // annotated with counts (reader sent 10)
	is.True(strings.Contains(page, `<tr data-stage="writer" class="role-writer">`)) // a table row per stage
	is.True(strings.Contains(page, `<td class="in">10</td>`))                       // with its counts
	is.True(strings.Contains(page, "format=fragment"))                              // it refreshes itself
	is.True(!strings.Contains(page, "<?xml"))                                       // the SVG's prolog is stripped

	w = get(t, h, "/debug/stages?format=fragment", "")
	is.True(!strings.Contains(w.Body.String(), "<html"))                  // the fragment is just the live part
	is.True(strings.Contains(w.Body.String(), `class="active">0</span>`)) // with the active count

	w = get(t, h, "/debug/stages?format=svg", "")
	is.Equal(w.Header().Get("Content-Type"), "image/svg+xml") // the picture alone
	is.True(strings.Contains(w.Body.String(), "demo server")) // titled

	w = get(t, h, "/debug/stages?format=xml", "")
	is.Equal(w.Code, http.StatusBadRequest) // unknown format
	r := httptest.NewRequest("POST", "/debug/stages", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	is.Equal(rec.Code, http.StatusMethodNotAllowed) // read-only
}

func TestHandlerWithoutMeterOrGraph(t *testing.T) {
	is := is.New(t)
	w := get(t, graphview.Handler(graphview.View{Title: "empty"}), "/debug/stages", "text/html")
	is.Equal(w.Code, 200)                               // still a page
	is.True(strings.Contains(w.Body.String(), "empty")) // naming the view
}

// BenchmarkLivePage is what one refresh of the live page costs the server:
// a snapshot, the annotated SVG and the fragment around it.
func BenchmarkLivePage(b *testing.B) {
	meter := actors.NewMeter()
	h := graphview.Handler(graphview.View{Title: "demo", Meter: meter, Graph: graph()})
	r := httptest.NewRequest("GET", "/debug/stages?format=fragment", nil)
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// TestStoreSitsUnderItsCaller: a store (the proxy's cache) is drawn in its
// caller's column, between the caller's chain and the chain the caller
// calls, with no counts, and the live view lists no stage for it.
func TestStoreSitsUnderItsCaller(t *testing.T) {
	is := is.New(t)
	g := graph()
	g.Nodes = append(g.Nodes, actors.Node{Name: "upstream", Role: actors.RoleOther}, actors.Node{Name: "cache", Role: actors.RoleStore})
	g.Edges = append(g.Edges, actors.Edge{From: "handler", To: "upstream", Type: "job", Buffer: actors.CallEdge},
		actors.Edge{From: "handler", To: "cache", Type: "lookup", Buffer: actors.CallEdge})
	dot := graphview.DOT(graphview.Pipeline{Graph: g})
	is.True(strings.Contains(dot, `"handler" -> "cache" [label="lookup (call)", style=dashed, minlen=0, weight=10]`)) // kept in the handler's column
	is.True(strings.Contains(dot, `shape=cylinder`))                                                                  // drawn as state
	svg := graphview.SVG(graphview.Pipeline{Graph: g, Counts: map[string]graphview.Counts{}})
	box := func(name string) (x, y int) {
		i := strings.Index(svg, `data-stage="`+name+`"`)
		fmt.Sscanf(svg[strings.Index(svg[i:], "<rect")+i:], `<rect x="%d" y="%d"`, &x, &y)
		return x, y
	}
	hx, hy := box("handler")
	cx, cy := box("cache")
	_, uy := box("upstream")
	is.Equal(cx, hx)            // the cache under the handler
	is.True(hy < cy && cy < uy) // between the two chains
	rec := get(t, graphview.Handler(graphview.View{Meter: actors.NewMeter(), Graph: g}), "/?format=json", "")
	var st graphview.Status
	is.NoErr(json.Unmarshal(rec.Body.Bytes(), &st))
	is.Equal(len(st.Pipelines[0].Graph.Nodes), len(g.Nodes)) // the store is in the picture
	is.Equal(len(st.Pipelines[0].Stages), len(g.Nodes)-1)    // but has no stage row
	for _, c := range st.Pipelines[0].Stages {
		is.True(c.Name != "cache") // nothing counted for it
	}
}
