package actors_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/actors"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// numbers is a source that sends 1..n and returns.
func numbers(n int) actors.SourceFunc[int] {
	return func(ctx context.Context, out *actors.Output[int]) error {
		for i := 1; i <= n; i++ {
			if !out.Send(i) {
				return nil
			}
		}
		return nil
	}
}

func double(ctx context.Context, in *actors.Input[int], out *actors.Output[int]) error {
	for v := range in.All() {
		if !out.Send(2 * v) {
			return nil
		}
	}
	return nil
}

func collect(got *[]int) actors.SinkFunc[int] {
	return func(ctx context.Context, in *actors.Input[int]) error {
		for v := range in.All() {
			*got = append(*got, v)
		}
		return nil
	}
}

func spec(name string, role actors.Role) actors.Spec { return actors.Spec{Name: name, Role: role} }

func TestEndTravelsDownTheChain(t *testing.T) {
	is := is.New(t)
	p := actors.New("nums", nil)
	var got []int
	src := actors.Source(p, spec("reader", actors.RoleReader), numbers(100), 0)
	dbl := actors.Then(p, spec("handler", actors.RoleHandler), src, double, 2)
	actors.Sink(p, spec("writer", actors.RoleWriter), dbl, collect(&got))
	is.NoErr(p.Run(context.Background())) // clean end
	is.Equal(len(got), 100)               // every item arrived
	is.Equal(got[99], 200)                // in order, doubled
	snap := p.Meter().Snapshot()
	is.Equal(snap.Stages[1].In, uint64(100))  // handler received 100
	is.Equal(snap.Stages[1].Out, uint64(100)) // handler sent 100
	is.Equal(snap.Finished, uint64(1))        // one pipeline done
}

func TestFailureStopsEveryStageOnceWithStageName(t *testing.T) {
	is := is.New(t)
	var hooks atomic.Int32
	p := actors.New("conn", nil)
	p.OnInterrupt(func() { hooks.Add(1) })
	boom := errors.New("boom")
	src := actors.Source(p, spec("reader", actors.RoleReader), func(ctx context.Context, out *actors.Output[int]) error {
		<-ctx.Done() // blocks like a read until interrupted
		return ctx.Err()
	}, 0)
	mid := actors.Then(p, spec("parser", actors.RoleParser), src, func(ctx context.Context, in *actors.Input[int], out *actors.Output[int]) error {
		return boom
	}, 0)
	actors.Sink(p, spec("writer", actors.RoleWriter), mid, func(ctx context.Context, in *actors.Input[int]) error {
		for range in.All() {
		}
		return nil
	})
	err := p.Run(context.Background())
	is.True(errors.Is(err, boom))               // cause reported
	is.Equal(err.Error(), "conn: parser: boom") // wrapped with pipeline and stage
	is.Equal(hooks.Load(), int32(1))            // interrupt hooks ran once
}

func TestParentCancelIsNotAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		ctx, cancel := context.WithCancel(context.Background())
		p := actors.New("idle", nil)
		src := actors.Source(p, spec("reader", actors.RoleReader), func(ctx context.Context, out *actors.Output[int]) error {
			<-ctx.Done()
			return ctx.Err()
		}, 0)
		actors.Sink(p, spec("writer", actors.RoleWriter), src, func(ctx context.Context, in *actors.Input[int]) error {
			for range in.All() {
			}
			return nil
		})
		done := make(chan error)
		go func() { done <- p.Run(ctx) }()
		synctest.Wait()
		cancel()
		is.NoErr(<-done) // cancelled by its owner: not a failure
	})
}

func TestPanicBecomesError(t *testing.T) {
	is := is.New(t)
	p := actors.New("p", nil)
	src := actors.Source(p, spec("reader", actors.RoleReader), numbers(1), 0)
	actors.Sink(p, spec("writer", actors.RoleWriter), src, func(ctx context.Context, in *actors.Input[int]) error {
		panic("bug")
	})
	err := p.Run(context.Background())
	var pe *actors.PanicError
	is.True(errors.As(err, &pe)) // a panic is an error, not a crash
}

func TestNoSink(t *testing.T) {
	is := is.New(t)
	p := actors.New("p", nil)
	actors.Source(p, spec("reader", actors.RoleReader), numbers(1), 0)
	is.True(errors.Is(p.Run(context.Background()), actors.ErrNoSink))
}

func TestGraphMatchesWiring(t *testing.T) {
	is := is.New(t)
	p := actors.New("nums", nil)
	src := actors.Source(p, actors.Spec{Name: "reader", Role: actors.RoleReader, Does: "counts"}, numbers(1), 1)
	dbl := actors.Then(p, spec("handler", actors.RoleHandler), src, double, 3)
	actors.Sink(p, spec("writer", actors.RoleWriter), dbl, collect(new([]int)))
	g := p.Graph()
	is.Equal(len(g.Nodes), 3)
	is.Equal(g.Edges, []actors.Edge{
		{From: "reader", To: "handler", Type: "int", Buffer: 1},
		{From: "handler", To: "writer", Type: "int", Buffer: 3},
	})
	is.True(strings.Contains(g.DOT(), `"reader" -> "handler" [label="int (buf 1)"]`)) // DOT edge
	is.True(strings.Contains(g.Mermaid(), `reader -- "int (buf 1)" --> handler`))     // Mermaid edge
}

func ExampleGraph_Mermaid() {
	p := actors.New("nums", nil)
	src := actors.Source(p, actors.Spec{Name: "reader", Role: actors.RoleReader, Does: "counts to 3"}, numbers(3), 0)
	actors.Sink(p, actors.Spec{Name: "writer", Role: actors.RoleWriter}, src, collect(new([]int)))
	fmt.Print(p.Graph().Mermaid())
	// Output:
	// flowchart LR
	//   reader["reader<br/><small>counts to 3</small>"]
	//   writer["writer"]
	//   reader -- "int (buf 0)" --> writer
}

func ExamplePipeline_Run() {
	p := actors.New("nums", nil)
	var got []int
	src := actors.Source(p, actors.Spec{Name: "reader", Role: actors.RoleReader}, numbers(3), 0)
	dbl := actors.Then(p, actors.Spec{Name: "handler", Role: actors.RoleHandler}, src, double, 0)
	actors.Sink(p, actors.Spec{Name: "writer", Role: actors.RoleWriter}, dbl, collect(&got))
	err := p.Run(context.Background())
	fmt.Println(got, err)
	// Output: [2 4 6] <nil>
}

func TestStopFromAnotherGoroutineRacesNothing(t *testing.T) {
	is := is.New(t)
	for range 50 {
		p := actors.New("p", nil)
		src := actors.Source(p, spec("reader", actors.RoleReader), func(ctx context.Context, out *actors.Output[int]) error {
			<-ctx.Done()
			return nil
		}, 0)
		actors.Sink(p, spec("writer", actors.RoleWriter), src, collect(new([]int)))
		go p.Stop() // may come before, during or after Run sets up
		is.NoErr(p.Run(context.Background()))
	}
}

func TestCallsIsADashedEdgeInTheGraph(t *testing.T) {
	is := is.New(t)
	p := actors.New("g", nil)
	p.Calls("a", "b", "job")
	g := p.Graph()
	is.Equal(g.Edges, []actors.Edge{{From: "a", To: "b", Type: "job", Buffer: actors.CallEdge}}) // recorded for the picture
	is.True(strings.Contains(g.Mermaid(), `a -. "job (call)" .-> b`))                            // dotted in Mermaid
	is.True(strings.Contains(g.DOT(), `[label="job (call)", style=dashed]`))                     // dashed in DOT
	is.Equal(actors.Edge{Type: "x", Buffer: actors.DirectCall}.Label(), "x (direct call)")
	is.Equal(actors.Edge{Type: "x", Buffer: 4}.Label(), "x (buf 4)")
}

func TestStoreIsANodeButNotAStage(t *testing.T) {
	is := is.New(t)
	p := actors.New("g", nil)
	p.Store(actors.Spec{Name: "cache", Role: actors.RoleHandler, Does: "keeps answers"})
	p.Calls("a", "cache", "lookup")
	g := p.Graph()
	is.Equal(g.Nodes, []actors.Node{{Name: "cache", Role: actors.RoleStore, Does: "keeps answers"}}) // a store whatever the spec says
	is.True(strings.Contains(g.Mermaid(), `cache[("cache<br/><small>keeps answers</small>")]`))      // a cylinder in Mermaid
	is.True(strings.Contains(g.DOT(), `shape=cylinder`))                                             // and in DOT
	is.True(errors.Is(p.Run(context.Background()), actors.ErrNoSink))                                // no stage was added: nothing to run
}
