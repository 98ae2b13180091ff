// Package mem is an in-process [transport.Network]: listeners, buffered
// stream connections and datagram sockets that never touch the kernel. Tests
// use it to run whole protocol pipelines in one process, and the netsim tour
// uses it before the simulator adds loss and latency.
//
// Streams are a pair of bounded byte pipes (default 64 KiB each way), so a
// writer that outruns its reader blocks, as over TCP. Connections support
// deadlines, Close, CloseWrite (the peer reads EOF) and CloseRead (local reads
// return EOF, later data from the peer is discarded), and pass
// golang.org/x/net/nettest.TestConn.
//
// Datagrams are delivered whole, in order, to the socket bound at the
// destination address; when its queue (256 datagrams) is full, or nobody is
// bound there, the datagram is dropped, as UDP would.
//
// Blocking happens only on channels and timers, never on a held mutex, so the
// package works inside testing/synctest bubbles.
//
// Addresses are "host:port" strings; port 0 picks a free port. A Network and
// everything it returns are safe for concurrent use.
package mem
