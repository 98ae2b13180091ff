package echo

import (
	"context"
	"net"

	"netstages/actors"
	"netstages/actors/connio"
)

// DefaultMaxLine is the longest line echoed by default.
const DefaultMaxLine = 64 << 10

// Config configures the echo protocol.
type Config struct {
	// MaxLine is the longest accepted line, ending included. Default 64 KiB.
	MaxLine int
	// Buffers lends read buffers; share one across connections. Default: a
	// pool of the pipeline's own.
	Buffers *connio.Pool
	// Writers lends write buffers; share one across connections.
	Writers *connio.WriterPool
	// Fused runs framer, parser, handler and writer inside the reader's
	// goroutine (direct calls, no channels): one goroutine per connection
	// instead of five. Same stages, same graph, same bytes on the wire.
	Fused bool
}

func (c Config) withDefaults() Config {
	if c.MaxLine <= 0 {
		c.MaxLine = DefaultMaxLine
	}
	if c.Buffers == nil {
		c.Buffers = connio.NewPool()
	}
	if c.Writers == nil {
		c.Writers = connio.NewWriterPool()
	}
	return c
}

// channelBuffer is the capacity of every channel between stages: enough to
// keep each stage busy while the next catches up, small enough to bound memory.
const channelBuffer = 4

// Wire builds the echo pipeline for one connection; Run it to serve.
// Counts go to meter (nil for a meter of its own).
func Wire(conn net.Conn, cfg Config, meter *actors.Meter) *actors.Pipeline {
	cfg = cfg.withDefaults()
	mode := actors.OwnGoroutine
	if cfg.Fused {
		mode = actors.Fused
	}
	p := actors.New("echo", meter)
	p.OnInterrupt(func() { conn.Close() })

	chunks := actors.Source(p, actors.Spec{Name: "reader", Role: actors.RoleReader, Does: "reads bytes from the conn"},
		connio.ReadChunks(conn, cfg.Buffers), channelBuffer)
	frame, lastLine := FramerStage(cfg.MaxLine)
	lines := actors.Step(p, actors.Spec{Name: "framer", Role: actors.RoleFramer, Does: "cuts lines at LF"},
		chunks, frame, lastLine, mode, channelBuffer)
	reqs := actors.Step(p, actors.Spec{Name: "parser", Role: actors.RoleParser, Does: "makes requests"},
		lines, ParserStage(), nil, mode, channelBuffer)
	replies := actors.Step(p, actors.Spec{Name: "handler", Role: actors.RoleHandler, Does: "echoes each line"},
		reqs, HandlerStage(cfg.MaxLine), nil, mode, channelBuffer)
	write, flushAtEnd := WriterStage(connio.NewFlushingWriter(conn, cfg.Writers))
	actors.StepSink(p, actors.Spec{Name: "writer", Role: actors.RoleWriter, Does: "buffers, flushes when idle"},
		replies, write, flushAtEnd, mode)
	return p
}

// Handler returns the server's per-connection handler: wire and run the echo
// pipeline, counting into meter.
func Handler(cfg Config, meter *actors.Meter) actors.ConnHandler {
	cfg = cfg.withDefaults()
	return func(ctx context.Context, conn net.Conn) error {
		return Wire(conn, cfg, meter).Run(ctx)
	}
}

// Graph returns the shape of the echo pipeline without a connection.
func Graph(cfg Config) actors.Graph {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	return Wire(a, cfg, nil).Graph()
}
