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
	p := actors.New("echo", meter)
	p.OnInterrupt(func() { conn.Close() })

	chunks := actors.Source(p, actors.Spec{Name: "reader", Role: actors.RoleReader, Does: "reads bytes from the conn"},
		connio.ReadChunks(conn, cfg.Buffers), channelBuffer)
	lines := actors.Then(p, actors.Spec{Name: "framer", Role: actors.RoleFramer, Does: "cuts lines at LF"},
		chunks, FrameLines(cfg.MaxLine), channelBuffer)
	reqs := actors.Then(p, actors.Spec{Name: "parser", Role: actors.RoleParser, Does: "makes requests"},
		lines, ParseLines, channelBuffer)
	replies := actors.Then(p, actors.Spec{Name: "handler", Role: actors.RoleHandler, Does: "echoes each line"},
		reqs, Handle(cfg.MaxLine), channelBuffer)
	actors.Sink(p, actors.Spec{Name: "writer", Role: actors.RoleWriter, Does: "buffers, flushes when idle"},
		replies, WriteReplies(connio.NewFlushingWriter(conn, cfg.Writers)))
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
func Graph() actors.Graph {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	return Wire(a, Config{}, nil).Graph()
}
