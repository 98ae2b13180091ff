package cache

import (
	"container/list"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Config.
const (
	DefaultMaxBytes  = 64 << 20
	DefaultMaxObject = 8 << 20
)

// Config sizes a Cache.
type Config struct {
	// MaxBytes bounds the total size of stored entries; the least recently
	// used go first. Default 64 MiB.
	MaxBytes int64
	// MaxObject is the largest body stored; larger responses are streamed
	// through and not kept. Default 8 MiB.
	MaxObject int64
	// HeuristicCap bounds heuristic freshness. Default DefaultHeuristicCap.
	HeuristicCap time.Duration
	// Now is the cache's clock. Default time.Now.
	Now func() time.Time
}

// Stats counts what the cache did.
type Stats struct {
	Entries   int   // entries stored now
	Bytes     int64 // their total Size
	Stores    uint64
	Evictions uint64 // entries dropped to make room
	Invalid   uint64 // entries dropped by unsafe requests or replaced
}

// Cache is an RFC 9111 shared cache held in memory: entries by primary key
// (the URI), several variants per key when the response has Vary, evicted
// least-recently-used first when the byte budget is full. It is safe for
// concurrent use.
type Cache struct {
	cfg Config

	mu      sync.Mutex
	lru     *list.List                 // of *Entry, most recently used at the front
	byKey   map[string][]*list.Element // variants of one URI
	bytes   int64
	flights map[string]chan struct{}
	pass    map[string]time.Time // keys whose last response could not be stored, until when

	stores, evictions, invalid atomic.Uint64
}

// New returns an empty cache.
func New(cfg Config) *Cache {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxObject <= 0 {
		cfg.MaxObject = DefaultMaxObject
	}
	if cfg.HeuristicCap <= 0 {
		cfg.HeuristicCap = DefaultHeuristicCap
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache{cfg: cfg, lru: list.New(), byKey: map[string][]*list.Element{}, flights: map[string]chan struct{}{},
		pass: map[string]time.Time{}}
}

// Now reads the cache's clock.
func (c *Cache) Now() time.Time { return c.cfg.Now() }

// MaxObject is the largest body the cache stores.
func (c *Cache) MaxObject() int64 { return c.cfg.MaxObject }

// Get returns the stored variant of key that matches a request with header
// reqHeader (RFC 9111 §4.1), marking it recently used, or nil.
func (c *Cache) Get(key string, reqHeader Fields) *Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, el := range c.byKey[key] {
		e := el.Value.(*Entry)
		if e.Matches(reqHeader) {
			c.lru.MoveToFront(el)
			return e
		}
	}
	return nil
}

// Store keeps e, replacing a stored variant with the same secondary key,
// and evicts least recently used entries until the budget holds. It returns
// false, storing nothing, when e's body is over MaxObject or e alone is
// over MaxBytes.
func (c *Cache) Store(e *Entry) bool {
	size := e.Size()
	if int64(len(e.Body)) > c.cfg.MaxObject || size > c.cfg.MaxBytes {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	els := c.byKey[e.Key]
	for i, el := range els {
		if el.Value.(*Entry).sameVariant(e) {
			c.bytes -= el.Value.(*Entry).Size()
			c.lru.Remove(el)
			els = append(els[:i:i], els[i+1:]...)
			c.invalid.Add(1)
			break
		}
	}
	c.byKey[e.Key] = append(els, c.lru.PushFront(e))
	c.bytes += size
	c.stores.Add(1)
	for c.bytes > c.cfg.MaxBytes {
		c.removeLocked(c.lru.Back())
		c.evictions.Add(1)
	}
	return true
}

// removeLocked drops one element; c.mu is held.
func (c *Cache) removeLocked(el *list.Element) {
	e := el.Value.(*Entry)
	c.lru.Remove(el)
	c.bytes -= e.Size()
	els := c.byKey[e.Key]
	for i, x := range els {
		if x == el {
			els = append(els[:i:i], els[i+1:]...)
			break
		}
	}
	if len(els) == 0 {
		delete(c.byKey, e.Key)
	} else {
		c.byKey[e.Key] = els
	}
}

// Invalidate drops every variant stored for key, as an unsafe request to
// the URI requires (RFC 9111 §4.4). It reports whether there was any.
func (c *Cache) Invalidate(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	els := c.byKey[key]
	for _, el := range els {
		c.lru.Remove(el)
		c.bytes -= el.Value.(*Entry).Size()
		c.invalid.Add(1)
	}
	delete(c.byKey, key)
	return len(els) > 0
}

// Stats returns the cache's counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	n, b := c.lru.Len(), c.bytes
	c.mu.Unlock()
	return Stats{Entries: n, Bytes: b, Stores: c.stores.Load(), Evictions: c.evictions.Load(), Invalid: c.invalid.Load()}
}

// PassTime is how long a key whose response could not be stored is
// forwarded without collapsing (Squid's "hit-for-pass").
const PassTime = 10 * time.Second

// maxPass bounds the pass marks kept.
const maxPass = 10000

// Pass marks key as not storable for PassTime: concurrent misses for it
// then go to the origin side by side instead of waiting for each other.
func (c *Cache) Pass(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pass) >= maxPass {
		clear(c.pass)
	}
	c.pass[key] = c.cfg.Now().Add(PassTime)
}

// Passing reports whether key was marked by Pass less than PassTime ago.
func (c *Cache) Passing(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.pass[key]
	if ok && !c.cfg.Now().Before(until) {
		delete(c.pass, key)
		return false
	}
	return ok
}

// Collapse is collapsed forwarding: the first caller for key becomes the
// leader (wait is nil) and must call release once the response is stored or
// found not storable; later callers get wait, closed on release, and should
// then look the key up again.
func (c *Cache) Collapse(key string) (wait <-chan struct{}, release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.flights[key]; ok {
		return ch, nil
	}
	ch := make(chan struct{})
	c.flights[key] = ch
	var once sync.Once
	return nil, func() {
		once.Do(func() {
			c.mu.Lock()
			delete(c.flights, key)
			c.mu.Unlock()
			close(ch)
		})
	}
}
