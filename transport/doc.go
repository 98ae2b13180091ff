// Package transport gives every netstages protocol one way to reach the
// network, in the net package's own shapes, so the same protocol code runs
// over real sockets ([System]), in-process pipes (package transport/mem) and,
// later, the simulator (package sim).
//
// A protocol takes a [Network] and calls DialContext, Listen or ListenPacket on
// it exactly as it would call net.Dialer and net.ListenConfig. Because the
// results are plain net.Conn, net.Listener and net.PacketConn values, standard
// library code such as http.Transport.DialContext plugs in unchanged.
//
// Fast paths: [System] returns the raw *net.TCPConn and *net.UDPConn. Nothing
// in netstages wraps a connection on the data path, so io.Copy from an
// *os.File to a connection still reaches sendfile(2) through
// (*net.TCPConn).ReadFrom. Where a wrapper cannot be avoided it must forward
// io.ReaderFrom (see net/http's writerOnly trick).
//
// Concurrency: a Network value is safe for concurrent use.
package transport
