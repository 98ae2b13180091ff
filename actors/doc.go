// Package actors is the stage runtime of netstages: a connection is served
// by a Pipeline of stages — reader → framer → parser → handler → writer —
// each a goroutine that reads from its input channel and writes to its
// output channel, all supervised by one github.com/oklog/run Group.
//
//	flowchart LR
//	  reader -- "chunks (buf 4)" --> framer -- "[]Frame (buf 4)" --> parser
//	  parser -- "[]Request (buf 4)" --> handler -- "[]Reply (buf 4)" --> writer
//
// Wiring: New, then Source for the first stage, Then or Step for each middle
// stage, Sink or StepSink for the last; OnInterrupt registers cleanup (the
// connection's Close); Run runs it once. The Pipeline records its Graph as it
// is wired, so the picture (Graph.DOT, Graph.Mermaid) cannot drift from the
// code.
//
// Channels: the pipeline creates every channel and closes it after the
// stage that sends on it returns. Stages never close channels (house rule
// 1). Input.Recv and Output.Send select on the pipeline's done channel, so no
// stage blocks past shutdown (rule 2).
//
// Lifecycle: the pipeline ends when its sink returns, when any stage fails,
// or when Run's context is cancelled. A middle stage that finishes cleanly has
// its output closed and waits, so the end travels down the chain and the
// writer flushes before the group ends. Stopping closes done, cancels the
// stages' context and runs the OnInterrupt hooks exactly once (rule 3). The
// first failure is reported once, as "pipeline: stage: cause"; io.EOF,
// net.ErrClosed and context.Canceled mean the pipeline stopped itself and
// are not failures. A panicking stage becomes a *PanicError, not a crash.
//
// Step stages and fusion: a goroutine per stage is the clearest picture but
// costs about 5 KB per stage per connection, even idle. A stage written as a
// StepFunc keeps its state in a closure, so Step and StepSink can run it in a
// goroutine of its own (OwnGoroutine) or call it directly from its producer's
// goroutine (Fused): the same stages, the same graph (the edge says "direct
// call"), one goroutine per connection instead of five. BENCHMARKS.md has the
// figures.
//
// Counting: every Recv and Send adds to the stage's own atomic counter;
// a Meter, shared by all connections of a server, sums them on demand
// (Snapshot) with the number of items queued on each input channel.
//
// Server is the accept-loop actor: a connection limit with a polite refusal,
// a live count, events on the bus, and graceful shutdown (stop accepting,
// shut each connection's read side so its reader sees EOF, answer what was
// read, force-close after Grace).
//
// Concurrency: a Pipeline is wired by one goroutine; Run is called once.
// Graph, Snapshot, Stop, Server.Active and Server.Shutdown are safe from any
// goroutine.
package actors
