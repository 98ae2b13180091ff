// Package httpd is a static file server for HTTP/1.0 and 1.1 built as a
// stage pipeline per connection, on the wire package protocols/http.
//
//	flowchart LR
//	  reader["reader<br/>connio.ReadChunks + deadlines"] -- "connio.Chunk (buf 4)" --> framer
//	  framer["framer<br/>http.RequestFramer: heads, bodies dropped, 408"] -- "[]http.Frame (buf 4)" --> parser
//	  parser["parser<br/>percent-decodes and cleans the path"] -- "[]httpd.Request (buf 4)" --> handler
//	  handler["handler<br/>method, file, dir, conditionals, ranges"] -- "[]httpd.Response (buf 4)" --> writer
//	  writer["writer<br/>heads buffered; files by sendfile"]
//
// With Config.Fused the framer, parser, handler and writer run inside the
// reader's goroutine (actors.Fused): same stages, same graph, two goroutines
// per connection instead of five.
//
// Batching: every request completed by one read travels as one slice, and
// the writer flushes only when no more responses wait, so pipelined
// requests are answered in order with one write(2). File sections up to 16
// KiB are read into a pooled buffer and leave with the head; larger ones are
// copied straight from the *os.File to the raw connection after a flush, so
// a *net.TCPConn uses sendfile(2). The connection is never wrapped.
//
// Small files: files up to 16 KiB are kept in memory (Config.CacheBytes, 4
// MiB by default) and revalidated on every request by one stat(2) of the
// path: a changed device, inode, size or modification time (ns) reloads
// them, so a replaced or edited file is not served stale (short of an
// in-place rewrite keeping the size within the file system's timestamp
// granularity, which the ETag could not tell apart either). Serving one costs
// a stat instead of open, fstat, pread and close.
//
// Timeouts: the reader's read deadline is the idle timeout between requests
// and the read-header timeout from a request's first byte to its end; a
// deadline that passes mid-request becomes a 408 and close, an idle one a
// quiet close. After a response that closes the connection the writer
// half-closes, and Conn.Finish drains what the client still sends (at most
// 1 s, 256 KiB) so that closing does not reset the connection under the
// response.
//
// Files: paths are percent-decoded, then cleaned against "/" (so "..",
// "%2e%2e" and "%2f" never leave the root); NUL and backslash are 400. Files
// are opened through os.Root, which refuses any path or symlink leading
// outside the root (and absolute symlinks), unless FollowSymlinks. Names
// beginning with "." are 404 and unlisted unless ShowDotfiles. Only regular
// files and directories are served; a FIFO or device is 404 (opened with
// O_NONBLOCK so it cannot block).
//
// Channels: the actors runtime creates and closes them; no stage closes
// anything. Files opened by the handler are tracked per connection and
// closed by the writer once sent or by Conn.Finish if the connection ended
// first. Server, Metrics and the pools are safe for concurrent use; the
// stage state belongs to one connection.
//
// Limits: those of http.Limits (request line 8 KiB → 414, head 32 KiB and
// 100 fields → 431, body 1 MiB → 413; bodies are read and dropped), 16
// ranges per request (more: the whole file), 10000 listing entries.
package httpd
