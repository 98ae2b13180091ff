// Package echo is the reference pipeline of netstages: the smallest complete
// protocol, a line echo server in the spirit of RFC 862, built from the same
// five stages every stream protocol here uses. Read it before the others.
//
//	flowchart LR
//	  reader["reader<br/>reads bytes from the conn"] -- "connio.Chunk (buf 4)" --> framer
//	  framer["framer<br/>cuts lines at LF"] -- "[]echo.Line (buf 4)" --> parser
//	  parser["parser<br/>makes requests"] -- "[]echo.Request (buf 4)" --> handler
//	  handler["handler<br/>echoes each line"] -- "[]echo.Reply (buf 4)" --> writer["writer<br/>buffers, flushes when idle"]
//
// Protocol: every line the client sends (ending in LF or CRLF) comes back
// unchanged, line ending included. A last line without an ending, sent just
// before the client half-closes, comes back too: nothing is lost. A line
// longer than Config.MaxLine gets "error: line longer than N bytes" and the
// connection closes.
//
// Batching: the framer sends every complete line found in one read as one
// slice, and each stage answers a slice with a slice, so one channel hand-off
// carries a whole burst of pipelined lines. The writer flushes only when its
// input channel is empty.
//
// Channels: the actors runtime creates and closes each one after its sender
// returns; no stage closes anything. The pipeline's interrupt closes the
// connection, which unblocks the reader's Read and the writer's Write.
//
// Limits: one line is at most Config.MaxLine bytes (64 KiB by default).
package echo
