package cache

import (
	"net/http"
	"time"
)

// Action is what to do with a request, given the cache.
type Action int

// The actions.
const (
	// Forward: nothing stored can answer; ask the origin (a miss).
	Forward Action = iota
	// Serve: answer from the stored entry (a hit).
	Serve
	// Revalidate: ask the origin with a conditional request built from the
	// stored entry's validators; a 304 lets the entry answer.
	Revalidate
	// GatewayTimeout: the request said only-if-cached and nothing stored
	// may answer it: reply 504 (RFC 9111 §5.2.1.7).
	GatewayTimeout
)

// String names the action, for logs.
func (a Action) String() string {
	switch a {
	case Forward:
		return "forward"
	case Serve:
		return "serve"
	case Revalidate:
		return "revalidate"
	case GatewayTimeout:
		return "gateway-timeout"
	}
	return "unknown"
}

// Decision is the cache's answer for one request.
type Decision struct {
	Action Action
	// Entry is the stored response that matched, if any.
	Entry *Entry
	// Age is the entry's current age, the Age field to send with it.
	Age time.Duration
	// Why says, in a few words, how the decision was made (for logs/tests).
	Why string
}

// Decide looks up a GET or HEAD request for key with header reqHeader and
// says whether a stored response may answer it (RFC 9111 §4): fresh and not
// overridden by no-cache (§5.2.1.4, §5.2.2.4) or the request's max-age
// (§5.2.1.1) or min-fresh (§5.2.1.3), or stale but within the request's
// max-stale (§5.2.1.2) where must-revalidate, proxy-revalidate and
// s-maxage do not forbid it (§5.2.2.2, §5.2.2.8, §5.2.2.10). Any other
// method is forwarded. The request's Pragma is ignored (§5.4: deprecated).
func (c *Cache) Decide(method, key string, reqHeader Fields) Decision {
	if method != http.MethodGet && method != http.MethodHead {
		return Decision{Action: Forward, Why: "method not served from cache"}
	}
	req := ParseCacheControl(reqHeader.Values("Cache-Control"))
	e := c.Get(key, reqHeader)
	if e == nil {
		if req.OnlyIfCached {
			return Decision{Action: GatewayTimeout, Why: "only-if-cached and not stored"}
		}
		return Decision{Action: Forward, Why: "not stored"}
	}
	now := c.cfg.Now()
	age := e.Age(now)
	life := e.Lifetime(c.cfg.HeuristicCap)
	d := Decision{Entry: e, Age: age}
	switch {
	case e.cc.NoCache:
		d.Action, d.Why = Revalidate, "response no-cache"
	case req.NoCache:
		d.Action, d.Why = Revalidate, "request no-cache"
	case req.MaxAge == 0 || req.MaxAge > 0 && age > seconds(req.MaxAge):
		d.Action, d.Why = Revalidate, "older than request max-age"
	case life > age && req.MinFresh >= 0 && life-age < seconds(req.MinFresh):
		d.Action, d.Why = Revalidate, "fresh for less than request min-fresh"
	case life > age:
		d.Action, d.Why = Serve, "fresh"
	case req.MaxStale >= 0 && age-life <= seconds(req.MaxStale) && !e.cc.MustRevalidate && !e.cc.ProxyRevalidate && e.cc.SMaxAge < 0:
		d.Action, d.Why = Serve, "stale within request max-stale"
	default:
		d.Action, d.Why = Revalidate, "stale"
	}
	if d.Action == Revalidate && req.OnlyIfCached {
		d.Action, d.Why = GatewayTimeout, "only-if-cached and "+d.Why
	}
	return d
}
