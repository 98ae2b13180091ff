package main

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/actors"
	"netstages/actors/graphview"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestArchitectureGraphsMatchCode fails when the generated section of
// ARCHITECTURE.md no longer matches the graphs the code records.
func TestArchitectureGraphsMatchCode(t *testing.T) {
	is := is.New(t)
	doc, err := os.ReadFile("../../ARCHITECTURE.md")
	is.NoErr(err) // read ARCHITECTURE.md
	want, err := docSection()
	is.NoErr(err) // generate the section
	i := bytes.Index(doc, []byte(beginMarker))
	j := bytes.Index(doc, []byte(endMarker))
	is.True(i >= 0 && j > i) // ARCHITECTURE.md has the graphs markers
	got := string(doc[i : j+len(endMarker)])
	if got != want {
		t.Fatalf("ARCHITECTURE.md's graphs section is stale: run `go generate ./cmd/stagegraph`\n--- first difference near:\n%s", firstDiff(got, want))
	}
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return "committed: " + la[i] + "\ncode:      " + lb[i]
		}
	}
	return "(one is a prefix of the other)"
}

// TestWalksNameRealCode checks that every function a walk cites is
// declared in the file it names.
func TestWalksNameRealCode(t *testing.T) {
	n := 0
	for _, w := range walks() {
		for _, s := range w.steps {
			funcs := declared(t, filepath.Join("../..", s.file))
			if !funcs[s.function] {
				t.Errorf("walk %q cites %s in %s, which is not declared there", w.title, s.function, s.file)
			}
			n++
		}
	}
	is.New(t).True(n >= 20) // the three walks cite their stages
}

// declared lists a file's functions as "Name" and "(*T).Name" or "(T).Name".
func declared(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	out := map[string]bool{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok {
			continue
		}
		if fd.Recv == nil {
			out[fd.Name.Name] = true
			continue
		}
		typ := fd.Recv.List[0].Type
		star := ""
		if s, ok := typ.(*ast.StarExpr); ok {
			star, typ = "*", s.X
		}
		if id, ok := typ.(*ast.Ident); ok {
			out["("+star+id.Name+")."+fd.Name.Name] = true
		}
	}
	return out
}

// TestEveryPipelineDraws draws each pipeline in the text formats and checks
// every stage is there; SVG and PNG are checked on two of them (a layout
// takes a while under the race detector).
func TestEveryPipelineDraws(t *testing.T) {
	is := is.New(t)
	for _, e := range entries() {
		pipes, err := e.graphs(false)
		is.NoErr(err)                                            // get the graphs
		is.True(len(pipes) > 0 && len(pipes[0].Graph.Nodes) > 0) // a pipeline has stages
		for _, format := range []string{"dot", "mermaid"} {
			var out, errOut bytes.Buffer
			code := Run([]string{e.name, "-format", format}, &out, &errOut)
			is.Equal(code, 0) // stagegraph NAME -format F succeeds
			for _, p := range pipes {
				for _, n := range p.Graph.Nodes {
					is.True(strings.Contains(out.String(), n.Name)) // every stage is drawn
				}
				for _, ed := range p.Graph.Edges {
					is.True(strings.Contains(out.String(), ed.Type)) // every edge says what flows
				}
			}
		}
	}
	dir := t.TempDir()
	for _, name := range []string{"echo", "rdt"} {
		svg := filepath.Join(dir, name+".svg")
		is.Equal(Run([]string{name, "-format", "svg", "-o", svg}, &bytes.Buffer{}, os.Stderr), 0) // draw SVG
		b, err := os.ReadFile(svg)
		is.NoErr(err)                                                                       // read the SVG
		is.True(bytes.Contains(b, []byte("<svg")))                                          // it is SVG
		is.True(bytes.Contains(b, []byte(">writer<")) || bytes.Contains(b, []byte(">tx<"))) // with stage names as text
		pngPath := filepath.Join(dir, name+".png")
		is.Equal(Run([]string{name, "-format", "png", "-o", pngPath}, &bytes.Buffer{}, os.Stderr), 0) // draw PNG
		f, err := os.Open(pngPath)
		is.NoErr(err) // open the PNG
		img, err := png.Decode(f)
		f.Close()
		is.NoErr(err)                                  // a valid PNG
		is.True(img.Bounds().Dx() > 600)               // wide enough to read on a slide
		is.True(img.Bounds().Dx() > img.Bounds().Dy()) // flows left to right
	}
}

func TestCommandLine(t *testing.T) {
	is := is.New(t)
	var out, errOut bytes.Buffer
	is.Equal(Run([]string{"-list"}, &out, &errOut), 0) // -list works
	for _, e := range entries() {
		is.True(strings.Contains(out.String(), e.name+" ")) // -list names every pipeline
	}
	is.Equal(Run([]string{"nosuch"}, &out, &errOut), 2)                                              // unknown name is a usage error
	is.True(strings.Contains(errOut.String(), "unknown pipeline \"nosuch\""))                        // and says so
	is.Equal(Run([]string{"echo", "-format", "gif"}, &out, &errOut), 2)                              // unknown format is a usage error
	is.Equal(Run(nil, &out, &errOut), 2)                                                             // a name is needed
	is.Equal(Run([]string{"echo", "extra"}, &out, &errOut), 2)                                       // one name only
	is.Equal(Run([]string{"-h"}, &out, &errOut), 0)                                                  // -h is not an error
	is.Equal(Run([]string{"echo", "-o", filepath.Join(t.TempDir(), "no", "dir")}, &out, &errOut), 1) // unwritable output fails
}

func TestFusedEdgesSayDirectCall(t *testing.T) {
	is := is.New(t)
	var out bytes.Buffer
	is.Equal(Run([]string{"echo", "-fused", "-format", "mermaid"}, &out, os.Stderr), 0) // draw fused echo
	is.True(strings.Contains(out.String(), "direct call"))                              // fused edges are marked
}

func TestReplaceSectionKeepsTheRest(t *testing.T) {
	is := is.New(t)
	doc := []byte("before\n" + beginMarker + "\nold\n" + endMarker + "\nafter\n")
	out, err := replaceSection(doc, beginMarker+"\nnew\n"+endMarker)
	is.NoErr(err)                                                                 // markers found
	is.Equal(string(out), "before\n"+beginMarker+"\nnew\n"+endMarker+"\nafter\n") // only the inside changed
	_, err = replaceSection([]byte("no markers"), "x")
	is.True(err != nil) // missing markers are an error, not an append
}

// TestFromALiveServer draws a running server's pipeline with its counts,
// from graphview's live view and from a bare meter snapshot (httpd, proxy).
func TestFromALiveServer(t *testing.T) {
	is := is.New(t)
	meter := actors.NewMeter()
	p := actors.New("demo", meter)
	src := actors.Source(p, actors.Spec{Name: "reader", Role: actors.RoleReader}, func(ctx context.Context, out *actors.Output[int]) error {
		for i := range 5 {
			out.Send(i)
		}
		return nil
	}, 1)
	actors.Sink(p, actors.Spec{Name: "writer", Role: actors.RoleWriter}, src, func(ctx context.Context, in *actors.Input[int]) error {
		for range in.All() {
		}
		return nil
	})
	is.NoErr(p.Run(context.Background())) // run one pipeline
	mux := http.NewServeMux()
	mux.Handle("/debug/stages", graphview.Handler(graphview.View{Title: "demo server", Meter: meter}))
	mux.HandleFunc("/snapshot", func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(meter.Snapshot()) })
	mux.HandleFunc("/junk", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, path := range []string{"/debug/stages", "/snapshot"} {
		var out, errOut bytes.Buffer
		is.Equal(Run([]string{"-from", srv.URL + path, "-format", "dot"}, &out, &errOut), 0) // draw it
		is.True(strings.Contains(out.String(), "in 5 | out 0 | queued 0"))                   // with the writer's live count
		is.True(strings.Contains(out.String(), "1 started"))                                 // and the pipelines
	}
	var out, errOut bytes.Buffer
	is.Equal(Run([]string{"-from", srv.URL + "/junk"}, &out, &errOut), 1)             // not a status
	is.True(strings.Contains(errOut.String(), "not a stage status"))                  // says so
	is.Equal(Run([]string{"-from", srv.URL + "/nothing"}, &out, &errOut), 1)          // 404
	is.Equal(Run([]string{"echo", "-from", srv.URL + "/snapshot"}, &out, &errOut), 2) // NAME or -from
}
