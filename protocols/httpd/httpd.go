package httpd

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"time"

	"netstages/actors"
	"netstages/actors/bus"
	"netstages/actors/connio"
	"netstages/protocols/http"
)

// Defaults for Config.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	// ServerName is the Server field of every response.
	ServerName = "netstages-httpd"
)

// Config configures the file server. Build one with New; the zero value is
// not usable because the root must be opened.
type Config struct {
	// Root is the directory served.
	Root string
	// ShowDotfiles serves names beginning with "." (hidden, 404, otherwise).
	ShowDotfiles bool
	// FollowSymlinks follows symbolic links wherever they lead; otherwise a
	// link must stay inside Root (os.Root rules: relative, never escaping).
	FollowSymlinks bool
	// Limits bound request heads and bodies; zero fields take the defaults.
	Limits http.Limits
	// ReadHeaderTimeout is how long a client has to send a whole request
	// head (and body) once it has started; after it, 408 and close.
	ReadHeaderTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its next
	// request; after it the connection closes quietly.
	IdleTimeout time.Duration
	// CacheBytes is the budget of the small-file cache (files ≤ 16 KiB kept
	// in memory, revalidated by a stat on every request). 0 means
	// DefaultCacheBytes; negative turns the cache off.
	CacheBytes int64
	// WriteTimeout bounds each write, and each 1 MiB of a file sent: a
	// client that stops reading is cut off after it (like nginx's
	// send_timeout). Default DefaultWriteTimeout; negative: none.
	WriteTimeout time.Duration
	// Fused runs the framer, parser, handler and writer inside the reader's
	// goroutine (actors.Fused): the same stages, two goroutines per
	// connection instead of five.
	Fused bool
	// Bus, if set, receives a bus.RequestDone event per response.
	Bus *bus.Bus
	// Metrics, if set, counts responses by status and bytes sent.
	Metrics *Metrics
	// Name is the server name in events. Default "httpd".
	Name string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Server holds what every connection of one file server shares. It is safe
// for concurrent use.
type Server struct {
	cfg     Config
	root    *os.Root
	rootDir string
	reads   *connio.Pool
	writes  *connio.WriterPool
	bodies  *bodyPool
	date    *http.DateCache
	meter   *actors.Meter
	cache   fileCache
}

// New opens cfg.Root and returns a server whose stages count into meter
// (nil for a meter of its own).
func New(cfg Config, meter *actors.Meter) (*Server, error) {
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.WriteTimeout < 0 {
		cfg.WriteTimeout = 0
	}
	if cfg.Name == "" {
		cfg.Name = "httpd"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Limits = cfg.Limits.WithDefaults()
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if meter == nil {
		meter = actors.NewMeter()
	}
	dir, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &Server{
		cfg: cfg, root: root, rootDir: dir,
		reads: connio.NewPool(), writes: connio.NewWriterPool(), bodies: newBodyPool(),
		date: http.NewDateCache(cfg.Now), meter: meter, cache: fileCache{max: cfg.CacheBytes},
	}, nil
}

// Close releases the root directory.
func (s *Server) Close() error { return s.root.Close() }

// Meter returns the meter counting every connection's stages.
func (s *Server) Meter() *actors.Meter { return s.meter }

// channelBuffer is the capacity of every channel between stages.
const channelBuffer = 4

// Conn is one connection's state outside its stages: the files opened for
// responses not yet written, and the read deadlines.
type Conn struct {
	files *openFiles
	clock *deadlines
}

// Finish runs after the pipeline has returned: it closes files that were
// never sent and, after a response that closed the connection, drains what
// the client still sends (bounded) so the close does not reset it.
func (c *Conn) Finish(ctx context.Context) {
	c.files.closeAll()
	c.clock.linger(ctx)
}

// Wire builds the pipeline for one connection; Run it, then call
// Conn.Finish.
func (s *Server) Wire(conn net.Conn) (*actors.Pipeline, *Conn) {
	mode := actors.OwnGoroutine
	if s.cfg.Fused {
		mode = actors.Fused
	}
	files := &openFiles{}
	clock := newDeadlines(conn, s.cfg.ReadHeaderTimeout, s.cfg.IdleTimeout, s.cfg.WriteTimeout)
	p := actors.New("httpd", s.meter)
	p.OnInterrupt(clock.interrupt)

	chunks := actors.Source(p, actors.Spec{Name: "reader", Role: actors.RoleReader, Does: "reads bytes; a zero chunk says a deadline passed"},
		ReaderStage(conn, s.reads, clock), channelBuffer)
	frame, endFrames := FramerStage(s.cfg.Limits, clock)
	frames := actors.Step(p, actors.Spec{Name: "framer", Role: actors.RoleFramer, Does: "cuts requests: heads and bodies"},
		chunks, frame, endFrames, mode, channelBuffer)
	reqs := actors.Step(p, actors.Spec{Name: "parser", Role: actors.RoleParser, Does: "resolves targets to clean paths"},
		frames, ParserStage(remoteHost(conn), s.cfg.Now), nil, mode, channelBuffer)
	resps := actors.Step(p, actors.Spec{Name: "handler", Role: actors.RoleHandler, Does: "decides the answer: file, range, listing, error"},
		reqs, s.HandlerStage(files), nil, mode, channelBuffer)
	write, flushAtEnd := s.WriterStage(conn, files, clock)
	actors.StepSink(p, actors.Spec{Name: "writer", Role: actors.RoleWriter, Does: "heads buffered, files by sendfile"},
		resps, write, flushAtEnd, mode)
	return p, &Conn{files: files, clock: clock}
}

// Handler returns the per-connection handler for an actors.Server.
func (s *Server) Handler() actors.ConnHandler {
	return func(ctx context.Context, conn net.Conn) error {
		p, c := s.Wire(conn)
		err := p.Run(ctx)
		c.Finish(ctx)
		return err
	}
}

// Graph returns the shape of the pipeline without a connection.
func (s *Server) Graph() actors.Graph {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	p, _ := s.Wire(a)
	return p.Graph()
}

// Refuse answers a connection over the server's limit with 503 and closes
// it; use it as actors.Server.Refuse. Like any closing response it lingers
// (half-close, then drain what the client sent, ≤ 1 s) so the client reads
// the 503 rather than a reset.
func (s *Server) Refuse(conn net.Conn) {
	resp := s.errorResponse(nil, http.StatusServiceUnavailable, "too many connections; try again later", true)
	if _, err := conn.Write(append(resp.head, resp.data...)); err != nil {
		return
	}
	d := newDeadlines(conn, 0, 0, 0)
	d.closeWrite()
	d.linger(context.Background())
}

func remoteHost(conn net.Conn) string {
	a := conn.RemoteAddr()
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
