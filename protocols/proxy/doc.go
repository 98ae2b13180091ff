// Package proxy is an HTTP/1.1 forward proxy with a shared RFC 9111 cache
// (package cache), built as a stage pipeline per client connection on the
// shared HTTP wire package (protocols/http).
//
//	flowchart LR
//	  reader["reader<br/>reads bytes from the client"] -- "connio.Chunk (buf 4)" --> framer
//	  framer["framer<br/>requests; streamed body pieces; raw after CONNECT"] -- "[]proxy.Inbound (buf 4)" --> parser
//	  parser["parser<br/>-allow, target, CONNECT port"] -- "[]proxy.Request (buf 4)" --> handler
//	  handler["handler<br/>cache · origin exchange · tunnel"] -- "[]proxy.Response (buf 4)" --> writer["writer<br/>heads; bodies and tunnels copied socket to socket"]
//	  handler -. "lookup, store" .-> cache[("cache<br/>RFC 9111 store, LRU by bytes")]
//	  handler -. "Send: miss, revalidation, forward" .-> misses
//	  misses -- "direct call" --> owriter["origin writer"] -- "direct call" --> oreader["origin reader"]
//	  oreader -- "direct call" --> rframer["response framer"] -- "direct call" --> rparser["response parser"]
//	  rparser -- "direct call" --> tohandler["to handler"] -. "response head" .-> handler
//	  owriter -. "request" .-> origin[(origin, pooled conn)] -. "response head" .-> oreader
//	  origin -. "body bytes (splice)" .-> writer
//
// Both sides are one pipeline per client connection, with the cache
// between them, called by the handler (drawn as a store: Pipeline.Store).
// The client side is five stages in their own goroutines. The upstream side ("misses" to "to handler") is six step
// stages: the five after "misses" are fused into it, and "misses" hands its
// output to the handler, so each exchange with an origin (a miss, a
// revalidation, a forwarded request, the head and pieces of a streamed
// upload) is the handler's Send, which runs them as direct calls in the
// handler's goroutine: no hand-off, as when the handler did the I/O
// itself. The origin writer writes the request to a keep-alive origin
// connection from the Pool; the origin reader and response framer read
// and cut the response head (skipping 1xx); the response parser parses it;
// "to handler" answers. The "misses" goroutine only holds the door open
// until the pipeline ends. The body does not pass through the stages: the
// client side's writer copies it from the origin socket to the client
// socket. The handler's Send is not an actors stream from the handler, so
// Graph draws the two sides as two chains; the dotted arrows above are
// that call and its answer. Tunnel bytes (CONNECT) also go socket to
// socket, by the handler one way and the writer the other.
//
// Requests: absolute-form ("GET http://host:port/path", as curl -x and
// browsers send it), path-form ("GET /http://host:port/path", for clients
// without proxy settings), and CONNECT host:port (ports in ConnectPorts,
// default 443) for tunnels. Anything else is 400; a client outside Permit
// (default loopback only) gets 403 and the connection closes: Handler
// answers it as soon as it connects, before reading a byte, so a refused
// client holds a connection slot only for the lingering close (≤ 1 s);
// the parser checks Permit too, for pipelines built with Wire.
//
// Forwarding: the upstream request is origin-form with Host; hop-by-hop
// fields (Connection and the fields it names, Keep-Alive, Proxy-Connection,
// Proxy-Authorization, TE, Trailer, Upgrade) are removed both ways and Via
// is added both ways. Origin connections come from a keep-alive Pool; a
// reused one the origin had closed is replaced once for idempotent methods.
// Failures: 502 (cannot connect, bad response), 504 (UpstreamTimeout), each
// with a one-line text body.
//
// Bodies: a response body is copied by the writer from the origin socket to
// the client socket as it arrives (Content-Length and chunked relayed as
// framed, close-delimited until EOF; de-chunked for HTTP/1.0 clients), so
// nothing is buffered whole except a copy the cache keeps, and only while
// it stays under the cache's MaxObject. Request bodies up to StreamThreshold
// (64 KiB) are read whole by the framer, so the request can be sent again on
// a fresh origin connection if a kept-alive one was dead; larger ones, and
// every chunked one, go to a fresh origin connection piece by piece as they
// arrive (chunked ones still coded). Limits.MaxBodyBytes (default 1 GiB)
// bounds both (413).
//
// Cache: GET and HEAD are looked up (cache.Decide): a fresh entry is a hit
// (X-Cache: HIT, Age computed), a stale one is revalidated with
// If-None-Match / If-Modified-Since (304 → X-Cache: REVALIDATED, the stored
// body served with refreshed fields), a miss goes to the origin (X-Cache:
// MISS) and is stored if storable. Concurrent misses for one key wait for
// the first (collapsed forwarding). Unsafe methods invalidate the URI.
//
// Ordering: each connection's responses leave in request order because one
// handler answers them in turn and one writer writes them. The handler
// batches hits; before it blocks on an origin or another request's flight
// it sends what it has, so its own writer can finish the body that flight
// waits for.
//
// CONNECT: after the CONNECT head the framer passes client bytes on raw
// (bytes that came with the head included) and the handler writes them to
// the origin; the writer copies origin bytes to the
// client. When either side closes its half, the other side's write half is
// shut (CloseWrite) and the pipeline ends once both halves are done.
//
// Channels: created and closed by the actors runtime; no stage closes one.
// Two of the proxy's own: the "misses" stage hands its output to the
// handler once on a one-slot channel (never closed), and the handler stage
// closes "handled" when it returns, which lets "misses" return.
// The pipeline's interrupt closes the client connection and every origin
// connection the connection is using, so blocked reads and writes return.
// The cleanup Wire returns gives back origin connections and collapsed
// flights of responses that were never written.
//
// Concurrency: Config's Cache, Pool, Stats and buffer pools are safe to
// share between connections; everything else belongs to one connection.
//
// Limits: request line, head and field count per Limits (8 KiB, 32 KiB,
// 100; 414/431), request body Limits.MaxBodyBytes (413), origin response
// head Limits.MaxHeaderBytes (502), UpstreamTimeout per connect, head and
// body read. Client connections (see deadlines): ReadHeaderTimeout from a
// head's first byte to its end (408 and close), IdleTimeout for the
// next request and for each read of a request body (close), WriteTimeout
// for each write and each 256 KiB relayed to the client (close); tunnels
// have no deadline.
package proxy
