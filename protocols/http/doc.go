// Package http is the HTTP/1.1 wire format of netstages (RFC 9110, RFC 9112):
// the framer that cuts a byte stream into messages, the parser of their
// heads, the chunked-body decoder, and helpers that write response heads. It
// holds no sockets and no goroutines: the stages of a server (protocols/httpd)
// or a proxy (protocols/proxy) call it, so the same rules apply in both
// directions.
//
// Types are shared by requests and responses: a Header is an ordered list of
// Fields that keeps wire order and the original case of names; Limits bound
// every line, header block and body; an *Error carries the status a server
// answers a broken message with. Request is a parsed request head; response
// heads are parsed in response.go (added with the proxy).
//
// Where this package sits in a server's pipeline:
//
//	flowchart LR
//	  reader["reader<br/>connio.ReadChunks"] -- "connio.Chunk" --> framer
//	  framer["framer<br/>RequestFramer: heads (ParseRequestHead) + bodies (ChunkedDecoder)"] -- "[]http.Frame" --> parser
//	  parser["parser<br/>checks method, target, Host"] --> handler --> writer["writer<br/>AppendStatusLine, AppendField"]
//
// The framer parses each head because the body's length is in its fields
// (RFC 9112 §6.3); the framing rules and the header syntax are one code path,
// so what the framer thinks a message is and what the parser reads can never
// differ — the root of request smuggling.
//
// Strictness, where the RFCs allow a choice: whitespace before a colon,
// obs-fold, bare CR, control bytes in values, Transfer-Encoding together with
// Content-Length, differing Content-Length values, Transfer-Encoding in
// HTTP/1.0 and a Transfer-Encoding that does not end in chunked are all 400;
// codings other than a single "chunked" are 501; a version other than 1.x is
// 505. Bare LF ends head lines (RFC 9112 §2.2 allows it) but not chunked
// framing lines, which must end in CRLF. Empty lines before a request line are
// skipped.
//
// Limits (Limits, zero means default): request line 8 KiB (414), head 32 KiB
// and 100 fields (431), body 1 MiB (413), chunk-size line 4 KiB.
//
// Concurrency: a RequestFramer or ChunkedDecoder belongs to one goroutine; a
// Header is a value to copy or Clone before sharing; DateCache is safe for
// concurrent use; the functions are pure.
package http
