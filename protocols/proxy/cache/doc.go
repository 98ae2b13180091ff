// Package cache is the proxy's shared HTTP cache, following RFC 9111: which
// responses may be stored (§3), how long they stay fresh (§4.2.1: s-maxage,
// max-age, Expires − Date; §4.2.2: 10 % of Date − Last-Modified, capped),
// how old they are (§4.2.3), when a stored response may answer a request
// and when it must be revalidated (§4, §5.2 request and response
// directives), how Vary picks a variant (§4.1), how a 304 refreshes a stored
// response (§4.3.4), and invalidation by unsafe methods (§4.4).
//
// It is not a stage: the proxy's handler stage calls it.
//
//	flowchart LR
//	  handler["proxy handler"] -- "Decide(method, key, header)" --> cache
//	  cache -- "Decision{Serve | Revalidate | Forward | GatewayTimeout}" --> handler
//	  handler -- "Store(NewEntry / Refreshed) · Invalidate · Collapse" --> cache
//
// Storage: entries live in memory, by primary key (the target URI) and, for
// responses with Vary, by secondary key (the request's normalized values of
// the fields Vary names). Eviction is least recently used, bounded by bytes
// (Config.MaxBytes); a body over Config.MaxObject is never stored.
//
// Concurrency: a Cache is safe for concurrent use; one mutex guards the
// index. Entries are immutable once stored and are shared with readers
// without copying: change one by storing a new one (Entry.Refreshed).
// Collapse gives collapsed forwarding: one leader per key, the others wait
// on a channel the leader's release closes. The package starts no
// goroutines and owns no channels beyond those Collapse returns.
//
// Limits: Config.MaxBytes (default 64 MiB) and Config.MaxObject (default
// 8 MiB); delta-seconds values are capped at 2^31 (§1.2.2). Time comes only
// from Config.Now.
package cache
