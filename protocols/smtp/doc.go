// Package smtp is an SMTP client (RFC 5321) built as a stage pipeline: the
// textbook's mail client grown into one that can stand in for swaks or a
// small mailer. It speaks EHLO (HELO when EHLO is refused), STARTTLS or
// implicit TLS, AUTH PLAIN, LOGIN and XOAUTH2, SIZE, 8BITMIME, SMTPUTF8,
// PIPELINING and CHUNKING, and sends any number of messages per connection.
//
//	flowchart LR
//	  reader["reader<br/>reads bytes from the conn"] -- "connio.Chunk (buf 4)" --> framer
//	  framer["framer<br/>groups multi-line replies"] -- "[]smtp.RawReply (buf 4)" --> parser
//	  parser["parser<br/>reads codes and enhanced codes"] -- "[]smtp.Reply (buf 4)" --> session
//	  session["session<br/>state machine: EHLO … QUIT"] -- "[]smtp.Command (buf 4)" --> writer["writer<br/>writes commands and dot-stuffed data"]
//	  Send(["Client.Send"]) -. "jobs" .-> session
//
// With Config.Fused the framer and parser run inside the reader's goroutine
// and the writer inside the session's (actors.Fused): the same stages and
// graph, two goroutines instead of five.
//
// The session is a state machine written as state functions (type stateFn
// func(*session) stateFn): greeting → EHLO (→ HELO) → STARTTLS → AUTH →
// ready → idle ⇄ envelope → envelope replies → content → end of data, with
// RSET after a half-made transaction and QUIT at Close. Messages reach it
// from Client.Send through a channel the session reads only while idle;
// each Send waits for its own result.
//
// STARTTLS: the session returns after the server's 220, the pipeline stops
// without closing the connection (its interrupt sets a past read deadline
// so the reader returns), the client runs the TLS handshake and wires a new
// pipeline over the TLS connection that starts at EHLO. Anything that
// arrived behind the 220 before the reader stopped (a queued reply, or part
// of one left in the framer) is refused with ErrSTARTTLSInjection; bytes
// that come later go to the TLS handshake, which fails on them.
//
// PIPELINING (RFC 2920): MAIL, every RCPT and DATA go in one write; the
// replies are read in order. When another message is already waiting as one
// is sent, its envelope follows the content in the same write, so a busy
// connection costs one round trip per message instead of two.
//
// CHUNKING (RFC 3030) with PIPELINING: "BDAT n LAST" takes DATA's place and
// the content follows in the same write, so even one Send at a time costs
// one round trip per message. The content is sent as it is but for CRLF
// line endings (no dot-stuffing). Config.NoChunking keeps DATA.
//
// Errors: a 4xx or 5xx reply becomes *Error{Code, Enhanced, Message,
// Command}; Temporary reports 4xx. A refused recipient is listed in
// Result.Rejected and the message goes to the others; it fails only when all
// are refused. A missing reply becomes *TimeoutError. A failed message
// leaves the session usable; a timeout, a malformed reply or a broken
// connection ends it (Send then returns ErrClosed wrapping the cause).
//
// Channels: the actors runtime creates and closes every channel after its
// sender returns; no stage closes anything. The pipeline's interrupt closes
// the connection (or, before TLS, only unblocks the reader).
//
// Concurrency: Client.Send and Client.Submit are safe for concurrent use;
// messages are sent one at a time, in the order the session takes them.
// Submit returns once the session has taken a message, so one goroutine can
// keep several in flight (Pending.Wait collects each result). Close waits
// for the messages already taken.
//
// Limits: a reply line is at most MaxReplyLine bytes and a reply at most
// MaxReplyLines lines; every wait is bounded by RFC 5321 §4.5.3.2's
// timeouts (Timeouts). Outgoing: no command argument may hold CR, LF or
// another control character (house rule 9); a message line over 998 octets,
// a NUL or a bare CR is refused before MAIL is sent, as is a message over
// the server's SIZE. Content is sent with CRLF line endings and
// dot-stuffed. Credentials never travel without TLS except to a loopback
// address.
package smtp
