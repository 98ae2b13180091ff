package actors

import (
	"context"
	"errors"
	"runtime/debug"
)

// StepFunc is a stage written one item at a time. The stage's state lives in
// the value the function closes over, not on a goroutine's stack, so the
// runtime may run it either in a goroutine of its own or called directly by
// its producer (fused). It sends what it makes to out.
type StepFunc[In, Out any] func(ctx context.Context, item In, out *Output[Out]) error

// EndFunc runs once when a step stage's input has ended cleanly: a framer
// sends its last partial unit, a writer flushes. It is not called when the
// pipeline stops because of a failure or an interrupt.
type EndFunc[Out any] func(ctx context.Context, out *Output[Out]) error

// SinkStepFunc is a last stage written one item at a time. more reports
// that another item is already waiting, so a writer can put off its flush;
// a fused sink always sees more == false.
type SinkStepFunc[In any] func(ctx context.Context, item In, more bool) error

// ErrFinished is returned by a step to say its stage is done: its end function
// runs and its output ends, as if its input had ended. Returned by a sink,
// it ends the pipeline cleanly (e.g. after a reply that closes the
// connection).
var ErrFinished = errors.New("actors: stage finished")

// Mode says how a step stage runs.
type Mode int

// The modes of a step stage.
const (
	// OwnGoroutine runs the stage in a goroutine of its own, reading its
	// input from a channel: the picture of one goroutine per stage.
	OwnGoroutine Mode = iota
	// Fused runs the stage inside its producer's goroutine: each Send of the
	// producer calls the step directly. No channel, no goroutine, no hand-off:
	// the edge costs a function call. The graph still shows the stage.
	Fused
)

// Fused edges show this as their buffer in a Graph.
const fusedBuffer = -1

// Step adds a middle stage written as a step function (see StepFunc), run as
// mode says. end may be nil. buf is the capacity of its output channel if
// its consumer runs in a goroutine of its own.
func Step[In, Out any](p *Pipeline, spec Spec, in *Stream[In], step StepFunc[In, Out], end EndFunc[Out], mode Mode, buf int) *Stream[Out] {
	s := &stage{spec: spec}
	var out *Stream[Out]
	if mode == Fused {
		attachDirect(p, in, s, func(ctx context.Context, item In) error { return step(ctx, item, out.out) },
			func(ctx context.Context) error { return callEnd(ctx, end, out.out) })
		out = newOutput[Out](p, s, buf)
		p.addStage(s)
		return out
	}
	inPort := attachChannel(p, in, s)
	out = newOutput[Out](p, s, buf)
	s.run = func(ctx context.Context) error {
		for item := range inPort.All() {
			err := step(ctx, item, out.out)
			if errors.Is(err, ErrFinished) {
				break
			}
			if err != nil {
				return err
			}
		}
		if p.stopping() {
			return nil
		}
		return callEnd(ctx, end, out.out)
	}
	p.addStage(s)
	return out
}

func callEnd[Out any](ctx context.Context, end EndFunc[Out], out *Output[Out]) error {
	if end == nil {
		return nil
	}
	return end(ctx, out)
}

// StepSink adds the last stage written as a step function, run as mode
// says. end (may be nil) runs once when the input ends cleanly, e.g. to
// flush. When the stage finishes, the pipeline stops.
func StepSink[In any](p *Pipeline, spec Spec, in *Stream[In], step SinkStepFunc[In], end func(ctx context.Context) error, mode Mode) {
	s := &stage{spec: spec, sink: true}
	callEndSink := func(ctx context.Context) error {
		if end == nil {
			return nil
		}
		return end(ctx)
	}
	if mode == Fused {
		attachDirect(p, in, s, func(ctx context.Context, item In) error { return step(ctx, item, false) }, callEndSink)
		s.closeOut = func() {}
		s.host.endsPipe = true
		p.addStage(s)
		return
	}
	s.endsPipe = true
	inPort := attachChannel(p, in, s)
	s.run = func(ctx context.Context) error {
		for item := range inPort.All() {
			err := step(ctx, item, inPort.Pending() > 0)
			if errors.Is(err, ErrFinished) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		if p.stopping() {
			return nil
		}
		return callEndSink(ctx)
	}
	s.closeOut = func() {}
	p.addStage(s)
}

// attachDirect makes in a direct call into the fused stage s: the
// producer's Send runs step in the producer's goroutine, and the producer's
// end runs s's end and then ends s's own output.
func attachDirect[In any](p *Pipeline, in *Stream[In], s *stage, step func(context.Context, In) error, end func(context.Context) error) {
	consume(p, in, s.spec.Name)
	s.from, s.itemType, s.buffer = in.producer.spec.Name, typeName[In](), fusedBuffer
	s.queued = func() int { return 0 }
	s.host = in.producer.host
	in.out.direct = func(item In) bool {
		if s.finished {
			return false
		}
		s.in.Add(1)
		return p.callFused(s, func() error { return step(p.ctx, item) })
	}
	s.finish = func() {
		if s.finished {
			return
		}
		s.finished = true
		if !p.stopping() {
			if err := p.guard(s, func() error { return end(p.ctx) }); err != nil {
				p.fail(s, err)
			}
		}
		s.closeOut()
	}
	in.producer.closeOut = func() { s.finish() }
}

// callFused runs one fused step and turns its result into Send's answer:
// true to go on, false when the pipeline or the stage has stopped.
func (p *Pipeline) callFused(s *stage, step func() error) bool {
	err := p.guard(s, step)
	switch {
	case err == nil:
		return !p.stopping()
	case errors.Is(err, ErrFinished):
		if s.sink {
			s.finished = true
			p.stop() // the pipeline's work is done
			return false
		}
		s.finish()
		return true // upstream may go on; its later sends are refused quietly
	default:
		p.fail(s, err)
		return false
	}
}

// guard runs f, turning a panic into a *PanicError.
func (p *Pipeline) guard(s *stage, f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return f()
}

// stopping reports whether the pipeline has begun to stop.
func (p *Pipeline) stopping() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
