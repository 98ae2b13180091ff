package actors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/oklog/run"
)

// SourceFunc is the body of a first stage (a reader): it produces items until
// its input (usually a connection) ends. Returning nil means a clean end.
type SourceFunc[Out any] func(ctx context.Context, out *Output[Out]) error

// StageFunc is the body of a middle stage: it receives from in and sends to
// out until in ends. It never closes anything; the pipeline closes out after
// the function returns.
type StageFunc[In, Out any] func(ctx context.Context, in *Input[In], out *Output[Out]) error

// SinkFunc is the body of the last stage (a writer). When it returns, the
// pipeline ends.
type SinkFunc[In any] func(ctx context.Context, in *Input[In]) error

// Stream is the output of a stage while the pipeline is being wired.
// Exactly one stage consumes it; the consumer decides whether it becomes a
// channel (the consumer runs in its own goroutine) or a direct call (the
// consumer is a step stage fused into its producer's goroutine).
type Stream[T any] struct {
	p        *Pipeline
	producer *stage
	out      *Output[T]
	buf      int // capacity of the channel, if it becomes one
	consumed bool
}

// stage is the runtime record of one stage: what the graph shows, the live
// counters, and how to run it.
type stage struct {
	spec     Spec
	from     string // producer of the input, "" for a source
	itemType string // type on the input edge
	buffer   int    // capacity of the input channel; Fused for a direct call
	in, out  atomic.Uint64
	queued   func() int // items waiting in the input channel now
	// run is the stage's goroutine body; nil for a fused stage, which runs
	// inside its host's goroutine.
	run func(ctx context.Context) error
	// closeOut ends the stage's output: it closes the channel, or finishes
	// the fused consumer (its end function, then its own closeOut).
	closeOut func()
	sink     bool
	host     *stage // the stage whose goroutine runs this one (itself if not fused)
	endsPipe bool   // this goroutine runs the sink: its return ends the pipeline
	finished bool   // a fused stage has ended; only touched by its host goroutine
	finish   func() // a fused stage's end: its end function, then closeOut
}

// Pipeline is one connection's chain of stages. Build it with [New], wire it
// with [Source], [Then], [Step] and [Sink] or [StepSink], register cleanup
// with OnInterrupt, then call Run once. A Pipeline is used by one goroutine
// while wiring; Snapshot and Graph are safe to call concurrently with Run.
type Pipeline struct {
	name     string
	meter    *Meter
	stages   []*stage
	calls    []Edge // recorded by Calls
	stores   []Node // recorded by Store
	hooks    []func()
	done     chan struct{}
	stopOnce sync.Once
	ctx      context.Context // the stages' context, set by Run
	mu       sync.Mutex      // guards cancel: Stop may come from any goroutine
	cancel   context.CancelFunc
	failure  atomic.Pointer[error] // the first stage failure, the cause to report
}

// New starts wiring a pipeline. Counts go to meter, which may be shared by
// every connection of a server; nil gives the pipeline a meter of its own.
func New(name string, meter *Meter) *Pipeline {
	if meter == nil {
		meter = NewMeter()
	}
	return &Pipeline{name: name, meter: meter, done: make(chan struct{})}
}

// Name returns the pipeline's name.
func (p *Pipeline) Name() string { return p.name }

// Meter returns the meter that counts this pipeline.
func (p *Pipeline) Meter() *Meter { return p.meter }

// OnInterrupt registers f to run once when the pipeline stops, after the
// stages' context is cancelled; typically conn.Close, which unblocks a reader
// or writer stuck in a system call. Hooks run in registration order.
func (p *Pipeline) OnInterrupt(f func()) { p.hooks = append(p.hooks, f) }

func (p *Pipeline) addStage(s *stage) {
	for _, old := range p.stages {
		if old.spec.Name == s.spec.Name {
			panic(fmt.Sprintf("actors: pipeline %q already has a stage named %q", p.name, s.spec.Name))
		}
	}
	if s.host == nil {
		s.host = s
	}
	p.stages = append(p.stages, s)
}

// newOutput makes the output of stage s; the consumer connects it later.
func newOutput[T any](p *Pipeline, s *stage, buf int) *Stream[T] {
	out := &Output[T]{done: p.done, count: &s.out}
	s.closeOut = func() {} // replaced when a consumer attaches
	return &Stream[T]{p: p, producer: s, out: out, buf: buf}
}

func consume[T any](p *Pipeline, in *Stream[T], consumer string) {
	switch {
	case in.p != p:
		panic(fmt.Sprintf("actors: stage %q reads a stream of another pipeline", consumer))
	case in.consumed:
		panic(fmt.Sprintf("actors: stage %q reads a stream that %q already reads", consumer, in.producer.spec.Name))
	}
	in.consumed = true
}

// attachChannel makes in a channel read by s in its own goroutine.
func attachChannel[T any](p *Pipeline, in *Stream[T], s *stage) *Input[T] {
	consume(p, in, s.spec.Name)
	ch := make(chan T, in.buf)
	in.out.ch = ch
	in.producer.closeOut = func() { close(ch) }
	s.from, s.itemType, s.buffer = in.producer.spec.Name, typeName[T](), in.buf
	s.queued = func() int { return len(ch) }
	return &Input[T]{ch: ch, done: p.done, count: &s.in}
}

func typeName[T any]() string { return reflect.TypeFor[T]().String() }

// Source adds the first stage. buf is the capacity of its output channel.
func Source[Out any](p *Pipeline, spec Spec, f SourceFunc[Out], buf int) *Stream[Out] {
	s := &stage{spec: spec, queued: func() int { return 0 }}
	out := newOutput[Out](p, s, buf)
	s.run = func(ctx context.Context) error { return f(ctx, out.out) }
	p.addStage(s)
	return out
}

// Then adds a middle stage that runs in its own goroutine and reads in
// through a channel. buf is the capacity of its output channel.
func Then[In, Out any](p *Pipeline, spec Spec, in *Stream[In], f StageFunc[In, Out], buf int) *Stream[Out] {
	s := &stage{spec: spec}
	inPort := attachChannel(p, in, s)
	out := newOutput[Out](p, s, buf)
	s.run = func(ctx context.Context) error { return f(ctx, inPort, out.out) }
	p.addStage(s)
	return out
}

// Sink adds the last stage. When it returns, the whole pipeline stops.
func Sink[In any](p *Pipeline, spec Spec, in *Stream[In], f SinkFunc[In]) {
	s := &stage{spec: spec, sink: true, endsPipe: true}
	inPort := attachChannel(p, in, s)
	s.run = func(ctx context.Context) error { return f(ctx, inPort) }
	s.closeOut = func() {}
	p.addStage(s)
}

// Graph returns the pipeline's shape as wired.
func (p *Pipeline) Graph() Graph {
	g := Graph{Name: p.name}
	for _, s := range p.stages {
		g.Nodes = append(g.Nodes, Node{Name: s.spec.Name, Role: s.spec.Role, Does: s.spec.Does})
		if s.from != "" {
			g.Edges = append(g.Edges, Edge{From: s.from, To: s.spec.Name, Type: s.itemType, Buffer: s.buffer})
		}
	}
	g.Nodes = append(g.Nodes, p.stores...)
	g.Edges = append(g.Edges, p.calls...)
	return g
}

// Store records, for the graph only, state that stages call into without
// a channel (the proxy's cache, shared by every connection): a node of
// role RoleStore, drawn as a cylinder, with no goroutine and no counts.
// Draw the calls into it with Calls.
func (p *Pipeline) Store(spec Spec) {
	p.stores = append(p.stores, Node{Name: spec.Name, Role: RoleStore, Does: spec.Does})
}

// Calls records, for the graph only, that stage from hands items of type
// what to stage to by calling into it rather than through a channel: how a
// handler starts a second chain of the same pipeline (the proxy's upstream
// side). It is drawn as a dashed edge labelled "(call)".
func (p *Pipeline) Calls(from, to, what string) {
	p.calls = append(p.calls, Edge{From: from, To: to, Type: what, Buffer: CallEdge})
}

// ErrNoSink is returned by Run when the pipeline has no last stage.
var ErrNoSink = errors.New("actors: pipeline has no sink")

// Run runs every stage in its own goroutine, supervised by one oklog/run
// Group, and returns when the pipeline has stopped and every stage goroutine
// has returned.
//
// The pipeline stops when the sink returns, when any stage fails, or when ctx
// is cancelled. Stopping closes the internal done channel (every Recv and Send
// gives up), cancels the stages' context and runs the OnInterrupt hooks once.
// A stage that finishes cleanly has its output closed, so the end travels down
// the chain: the writer flushes what it has and returns last.
//
// The error is the first stage failure, wrapped as "pipeline: stage: cause".
// Errors that mean the pipeline stopped itself (io.EOF, net.ErrClosed,
// context.Canceled) are not failures and give nil.
func (p *Pipeline) Run(ctx context.Context) error {
	if len(p.stages) == 0 || !p.stages[len(p.stages)-1].sink {
		return fmt.Errorf("%s: %w", p.name, ErrNoSink)
	}
	ctx, cancel := context.WithCancel(ctx)
	p.mu.Lock()
	p.ctx, p.cancel = ctx, cancel
	p.mu.Unlock()
	if p.stopping() { // Stop came before Run
		cancel()
	}
	stopOnParent := context.AfterFunc(ctx, p.stop)
	defer stopOnParent()
	p.meter.started(p)
	defer p.meter.finished(p)

	var g run.Group
	for _, s := range p.stages {
		if s.run != nil { // fused stages run inside their host's goroutine
			g.Add(func() error { return p.runStage(ctx, s) }, func(error) { p.stop() })
		}
	}
	err := g.Run()
	p.stop()
	if cause := p.failure.Load(); cause != nil {
		err = *cause
	}
	return p.report(err)
}

// runStage runs one stage body, closes its output, and keeps a cleanly
// finished middle stage waiting so that only the sink ends the group.
func (p *Pipeline) runStage(ctx context.Context, s *stage) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = p.fail(s, &PanicError{Value: v, Stack: debug.Stack()})
			s.closeOut()
		}
	}()
	err = s.run(ctx)
	if err != nil {
		err = p.fail(s, err) // before closing out: the cause must win over a clean end downstream
	}
	s.closeOut()
	if err != nil {
		return err
	}
	if !s.endsPipe {
		<-p.done
	}
	return nil
}

// fail records the first failure as the pipeline's cause and stops it.
func (p *Pipeline) fail(s *stage, err error) error {
	err = fmt.Errorf("%s: %s: %w", p.name, s.spec.Name, err)
	select {
	case <-p.done: // already stopping: this error is a consequence, not the cause
	default:
		p.failure.CompareAndSwap(nil, &err)
		p.stop()
	}
	return err
}

// stop is the interrupt of every actor in the group; it is safe to call any
// number of times from any goroutine.
func (p *Pipeline) stop() {
	p.stopOnce.Do(func() {
		close(p.done)
		p.mu.Lock()
		cancel := p.cancel
		p.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		for _, h := range p.hooks {
			h()
		}
	})
}

// Stop asks a running pipeline to stop now, as if its context were cancelled.
func (p *Pipeline) Stop() { p.stop() }

// report drops errors that only say the pipeline stopped itself.
func (p *Pipeline) report(err error) error {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// PanicError is what a stage that panicked returns: the connection ends with
// this error, the server goes on.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }
