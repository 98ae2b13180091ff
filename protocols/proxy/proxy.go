package proxy

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"time"

	"netstages/actors"
	"netstages/actors/bus"
	"netstages/actors/connio"
	wire "netstages/protocols/http"
	"netstages/protocols/proxy/cache"
	"netstages/transport"
)

// Defaults for Config.
const (
	DefaultUpstreamTimeout = 30 * time.Second
	DefaultMaxBody         = 1 << 30 // largest request body forwarded (413 beyond)
	DefaultName            = "netstages"
	// DefaultReadHeaderTimeout bounds the time from a head's first byte to
	// its end (408 and close after it).
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout bounds the wait for the next request on a kept-alive
	// connection, and for each read of a request body.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultWriteTimeout bounds each write to a client.
	DefaultWriteTimeout = 60 * time.Second
)

// Config configures the proxy. Share one Config (its Cache, Pool, Stats,
// buffers) across every connection of a server.
type Config struct {
	// Network dials origins. Default: real sockets.
	Network transport.Network
	// Cache is the shared cache; nil forwards everything uncached.
	Cache *cache.Cache
	// Pool keeps idle origin connections. Default: a pool on Network.
	Pool *Pool
	// Permit says whether a client address may use the proxy. Default:
	// loopback only (DefaultAllow). Clients refused get 403.
	Permit func(remote net.Addr) bool
	// ConnectPorts are the ports CONNECT may reach. Default: 443 only.
	ConnectPorts Ports
	// UpstreamTimeout bounds connecting to an origin and waiting for its
	// response head, and each wait for body bytes. Default 30s.
	UpstreamTimeout time.Duration
	// ReadHeaderTimeout is how long a client has to send a whole request
	// head once it has started; after it, 408 and close. Default
	// DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// IdleTimeout is how long a client connection may wait for its next
	// request, and for each read of a request body, before it is closed.
	// Default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// WriteTimeout bounds each write to a client and each slice of a relayed
	// body: a client that stops reading cannot hold an origin connection
	// forever. Default DefaultWriteTimeout; negative: none.
	WriteTimeout time.Duration
	// Limits bound client requests and origin response heads; MaxBodyBytes
	// bounds a request body, streamed or not (default DefaultMaxBody; 413).
	Limits wire.Limits
	// Name is this proxy's pseudonym in Via. Default "netstages".
	Name string
	// Bus, if set, receives a RequestDone event per answered request.
	Bus *bus.Bus
	// Stats counts what the proxy did. Default: counters of its own.
	Stats *Stats
	// Buffers and Writers lend read and write buffers.
	Buffers *connio.Pool
	Writers *connio.WriterPool
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.Network == nil {
		c.Network = &transport.System{}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Pool == nil {
		c.Pool = NewPool(PoolConfig{Dial: c.Network.DialContext, Now: c.Now})
	}
	if c.Permit == nil {
		allow, _ := ParseAllow(DefaultAllow)
		c.Permit = allow.Permits
	}
	if c.ConnectPorts == nil {
		c.ConnectPorts = Ports{443: true}
	}
	if c.UpstreamTimeout <= 0 {
		c.UpstreamTimeout = DefaultUpstreamTimeout
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.WriteTimeout < 0 {
		c.WriteTimeout = -1
	}
	if c.Limits.MaxBodyBytes <= 0 {
		c.Limits.MaxBodyBytes = DefaultMaxBody
	}
	c.Limits = c.Limits.WithDefaults()
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Stats == nil {
		c.Stats = &Stats{}
	}
	if c.Buffers == nil {
		c.Buffers = connio.NewPool()
	}
	if c.Writers == nil {
		c.Writers = connio.NewWriterPool()
	}
	return c
}

// Stats counts the proxy's work; the fields are safe to read at any time.
type Stats struct {
	Requests       atomic.Uint64 // requests answered
	Hits           atomic.Uint64 // answered from the cache (X-Cache: HIT)
	Misses         atomic.Uint64 // GET/HEAD answered from the origin (X-Cache: MISS)
	Revalidations  atomic.Uint64 // conditional requests sent for stale entries
	Revalidated    atomic.Uint64 // ... that got 304 (X-Cache: REVALIDATED)
	Collapsed      atomic.Uint64 // requests that waited for another's miss
	Forwarded      atomic.Uint64 // other methods forwarded
	Tunnels        atomic.Uint64 // CONNECT tunnels opened
	UpstreamErrors atomic.Uint64 // 502 and 504 answers
	ClientErrors   atomic.Uint64 // 400, 403, 413... answers
	BytesOut       atomic.Uint64 // bytes written to clients
}

// channelBuffer is the capacity of every channel between stages.
const channelBuffer = 4

// Wire builds the proxy pipeline for one client connection. Run it, then
// call the returned cleanup, which gives up origin connections and
// collapsed-forwarding flights left behind by a connection that ended early.
func Wire(conn net.Conn, cfg Config, meter *actors.Meter) (*actors.Pipeline, func()) {
	h := newHandler(conn, cfg)
	p := actors.New("proxy", meter)
	p.OnInterrupt(func() { conn.Close(); h.closeAll() })
	chunks := actors.Source(p, actors.Spec{Name: "reader", Role: actors.RoleReader, Does: "reads bytes from the client"},
		h.read(connio.ReadChunks(conn, h.cfg.Buffers)), channelBuffer)
	frames := actors.Then(p, actors.Spec{Name: "framer", Role: actors.RoleFramer, Does: "cuts requests; body pieces; raw after CONNECT"},
		chunks, frameRequests(h.cfg.Limits, h.clock), channelBuffer)
	reqs := actors.Then(p, actors.Spec{Name: "parser", Role: actors.RoleParser, Does: "checks client, target, CONNECT port"},
		frames, h.parse, channelBuffer)
	resps := actors.Then(p, actors.Spec{Name: "handler", Role: actors.RoleHandler, Does: "cache lookup, origin exchange, tunnel"},
		reqs, h.handle, channelBuffer)
	actors.Sink(p, actors.Spec{Name: "writer", Role: actors.RoleWriter, Does: "writes heads, relays bodies and tunnels"},
		resps, h.write)
	h.wireUpstream(p)
	return p, h.abortPending
}

// Handler returns the server's per-connection handler.
func Handler(cfg Config, meter *actors.Meter) actors.ConnHandler {
	cfg = cfg.WithDefaults()
	return func(ctx context.Context, conn net.Conn) error {
		if !cfg.Permit(conn.RemoteAddr()) {
			refuse(ctx, conn, cfg)
			return nil
		}
		p, cleanup := Wire(conn, cfg, meter)
		defer cleanup()
		return p.Run(ctx)
	}
}

// refuse answers a client outside Permit with 403 as soon as it connects,
// before it has sent a byte, so that it holds a connection slot only for
// the lingering close (at most lingerTime) that lets it read the answer.
func refuse(ctx context.Context, conn net.Conn, cfg Config) {
	cfg.Stats.ClientErrors.Add(1)
	text := "403 Forbidden: client " + conn.RemoteAddr().String() + " is not allowed to use this proxy\n"
	head := statusLine(wire.StatusForbidden, "")
	head = wire.AppendField(head, "Content-Type", "text/plain; charset=utf-8")
	head = wire.AppendIntField(head, "Content-Length", int64(len(text)))
	head = wire.AppendField(head, "Connection", "close")
	if cfg.WriteTimeout > 0 {
		conn.SetWriteDeadline(cfg.Now().Add(cfg.WriteTimeout))
	}
	if _, err := conn.Write(append(append(head, "\r\n"...), text...)); err != nil {
		return
	}
	cw, ok := conn.(transport.CloseWriter)
	if !ok {
		return
	}
	cw.CloseWrite()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	conn.SetReadDeadline(cfg.Now().Add(lingerTime))
	io.Copy(io.Discard, conn)
}

// Graph returns the shape of the proxy pipeline without a connection.
func Graph() actors.Graph {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	p, cleanup := Wire(a, Config{}, nil)
	defer cleanup()
	return p.Graph()
}
