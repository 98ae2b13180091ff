package actors

import (
	"iter"
	"sync/atomic"
)

// Input is a stage's end of its incoming channel. Receiving counts the item
// for the stage's live counters and gives up when the pipeline stops, so a
// stage never blocks past shutdown (house rule 2).
type Input[T any] struct {
	ch    <-chan T
	done  <-chan struct{}
	count *atomic.Uint64
}

// Recv waits for the next item. ok is false when the input is closed (the
// upstream stage finished) or the pipeline is stopping; the stage should then
// finish its work and return.
func (in *Input[T]) Recv() (item T, ok bool) {
	select {
	case item, ok = <-in.ch:
		if ok {
			in.count.Add(1)
		}
		return item, ok
	case <-in.done:
		return item, false
	}
}

// All ranges over the items until the input ends or the pipeline stops.
func (in *Input[T]) All() iter.Seq[T] {
	return func(yield func(T) bool) {
		for {
			item, ok := in.Recv()
			if !ok || !yield(item) {
				return
			}
		}
	}
}

// Pending reports how many items wait in the channel right now. A writer
// flushes when it is zero: the batch it has is all there is for the moment.
func (in *Input[T]) Pending() int { return len(in.ch) }

// Output is a stage's end of its outgoing channel. Only the pipeline closes
// the channel, after the stage returns (house rule 1).
type Output[T any] struct {
	ch     chan<- T
	done   <-chan struct{}
	count  *atomic.Uint64
	direct func(T) bool // a fused consumer's step, called in this goroutine
}

// Send passes item downstream, waiting while the channel is full
// (backpressure). It returns false, without sending, when the pipeline is
// stopping; the stage should then return. When the consumer is fused, Send
// runs the consumer's step right here and returns when it is done.
func (out *Output[T]) Send(item T) bool {
	if out.direct != nil {
		out.count.Add(1)
		return out.direct(item)
	}
	select {
	case out.ch <- item:
		out.count.Add(1)
		return true
	case <-out.done:
		return false
	}
}
