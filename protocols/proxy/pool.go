package proxy

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Pool keeps idle keep-alive connections to origins, by "host:port", so
// that a miss does not pay for a TCP handshake. It is safe for concurrent
// use. An idle connection is closed when it has been idle for IdleTimeout
// (a timer per idle connection, no goroutine while it waits), and the
// oldest idle one is closed when MaxIdle are kept. A connection taken from
// the pool may have been closed by the origin meanwhile; the caller retries an idempotent request once on a fresh
// connection when a reused one fails before any response byte.
type Pool struct {
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	maxIdle     int // per host
	maxTotal    int
	idleTimeout time.Duration
	now         func() time.Time

	mu     sync.Mutex
	idle   map[string][]idleConn // oldest first
	total  int
	closed bool

	dials, reuses atomic.Uint64
}

type idleConn struct {
	c     net.Conn
	since time.Time
	timer *time.Timer // closes c when it has been idle too long
}

// PoolConfig sizes a Pool.
type PoolConfig struct {
	// Dial opens connections (transport.Network.DialContext).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxIdlePerHost bounds the idle connections kept per origin. Default 256.
	MaxIdlePerHost int
	// MaxIdle bounds the idle connections kept in all; the oldest is closed
	// to make room. Default 1024.
	MaxIdle int
	// IdleTimeout drops connections idle longer than this. Default 30s.
	IdleTimeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// NewPool returns an empty pool.
func NewPool(cfg PoolConfig) *Pool {
	if cfg.MaxIdlePerHost <= 0 {
		cfg.MaxIdlePerHost = 256
	}
	if cfg.MaxIdle <= 0 {
		cfg.MaxIdle = 1024
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Pool{dial: cfg.Dial, maxIdle: cfg.MaxIdlePerHost, maxTotal: cfg.MaxIdle, idleTimeout: cfg.IdleTimeout, now: cfg.Now,
		idle: map[string][]idleConn{}}
}

// Get returns an idle connection to addr (reused true) or dials a new one.
func (p *Pool) Get(ctx context.Context, addr string) (c net.Conn, reused bool, err error) {
	if c := p.take(addr); c != nil {
		p.reuses.Add(1)
		return c, true, nil
	}
	c, err = p.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	p.dials.Add(1)
	return c, false, nil
}

// Dial always opens a new connection (for retries and tunnels).
func (p *Pool) Dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := p.dial(ctx, "tcp", addr)
	if err == nil {
		p.dials.Add(1)
	}
	return c, err
}

// take pops the most recently idled connection that has not expired.
func (p *Pool) take(addr string) net.Conn {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[addr]
	for len(list) > 0 {
		ic := list[len(list)-1]
		list = list[:len(list)-1]
		p.total--
		ic.timer.Stop()
		if now.Sub(ic.since) < p.idleTimeout {
			p.setLocked(addr, list)
			return ic.c
		}
		ic.c.Close()
	}
	p.setLocked(addr, list)
	return nil
}

func (p *Pool) setLocked(addr string, list []idleConn) {
	if len(list) == 0 {
		delete(p.idle, addr)
		return
	}
	p.idle[addr] = list
}

// Put gives back a connection whose last response was read completely and
// that may be reused; it is closed instead when the pool is full or closed.
func (p *Pool) Put(addr string, c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idle[addr]) >= p.maxIdle {
		c.Close()
		return
	}
	if p.total >= p.maxTotal {
		p.evictOldestLocked()
	}
	timer := time.AfterFunc(p.idleTimeout, func() { p.expire(addr, c) })
	p.idle[addr] = append(p.idle[addr], idleConn{c: c, since: p.now(), timer: timer})
	p.total++
}

// expire closes c if it is still idle in the pool (its timer fired).
func (p *Pool) expire(addr string, c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[addr]
	for i, ic := range list {
		if ic.c == c {
			p.setLocked(addr, append(list[:i:i], list[i+1:]...))
			p.total--
			c.Close()
			return
		}
	}
}

// evictOldestLocked closes the idle connection idle the longest; p.mu held.
func (p *Pool) evictOldestLocked() {
	var oldest string
	for addr, list := range p.idle {
		if oldest == "" || list[0].since.Before(p.idle[oldest][0].since) {
			oldest = addr
		}
	}
	if oldest == "" {
		return
	}
	list := p.idle[oldest]
	list[0].timer.Stop()
	list[0].c.Close()
	p.setLocked(oldest, list[1:])
	p.total--
}

// Close closes every idle connection; later Puts close theirs.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for addr, list := range p.idle {
		for _, ic := range list {
			ic.timer.Stop()
			ic.c.Close()
		}
		delete(p.idle, addr)
	}
	p.total = 0
}

// PoolStats counts the pool's work.
type PoolStats struct {
	Dials, Reuses uint64
	Idle          int
}

// Stats returns the pool's counters.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	n := p.total
	p.mu.Unlock()
	return PoolStats{Dials: p.dials.Load(), Reuses: p.reuses.Load(), Idle: n}
}
