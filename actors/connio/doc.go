// Package connio holds the two stages every stream pipeline shares: the
// reader that turns a connection into chunks of bytes, and the buffered
// writer that flushes only when its input is momentarily empty.
//
// Memory is what these stages are about. A connection that sits idle holds
// only the reader's 512-byte buffer: a 4 KiB buffer is borrowed from a
// sync.Pool while reads keep filling the small one, and travels downstream
// inside the Chunk until the framer releases it. The writer takes a pooled
// bufio.Writer at its first write and gives it back at every flush.
//
// Ownership: a Chunk belongs to whoever holds it; the receiver calls Release
// once it has copied out what it needs. Pools are safe for concurrent use.
package connio
