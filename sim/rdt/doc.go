// Package rdt is a reliable byte stream over the sim's datagrams — the
// textbook's reliable data transfer, made real: stop-and-wait (rdt3.0),
// Go-Back-N and Selective Repeat, plus a "perfect" mode without
// retransmission for lossless links. Each has checksums, a handshake
// (SYN, SYNACK, ACK) and teardown (FIN each way, or RST), flow control by the
// receiver's advertised window, and an RTO from RFC 6298 (SRTT/RTTVAR,
// exponential backoff). RTT samples come from echoed timestamps as in TCP
// (RFC 7323 §4: TSval/TSecr in every segment), so a resent packet's ACK is
// a sample too; Config.NoTimestamps falls back to Karn's rule alone (never
// sample a resent packet), which starves go-back-N of samples under loss.
//
// A Stack wraps a sim.Host as a transport.Network, so protocols dial and
// listen on it unchanged; its Conn is a net.Conn with deadlines, Close,
// CloseWrite and CloseRead, and passes golang.org/x/net/nettest.TestConn.
//
// Each connection runs two pipelines:
//
//	flowchart LR
//	  events["events<br/>merges writes, acks and timer"] --> arq["arq<br/>window, timers, retransmission"]
//	  arq -- "[]rdt.wire" --> tx["tx<br/>checksums, sends datagrams"]
//
//	flowchart LR
//	  rx["rx<br/>receives datagrams"] -- "[][]uint8" --> verify["verify<br/>checksum, decode, acks to sender"]
//	  verify -- "[]rdt.Segment" --> reassemble["reassemble<br/>in order / buffered, what to ack"]
//	  reassemble -- "[]rdt.delivery" --> deliver["deliver<br/>hands bytes to Read"]
//
// Each pipeline is one goroutine: only its source waits (events on kicks,
// acks and the timer; rx on the socket), and the other stages are step
// stages fused into it, called directly (the graph's "direct call" edges).
// arq starts on the empty batch events sends first and finishes with
// actors.ErrFinished, after which events returns.
//
// The arq stage is the only one that sends: data, retransmissions, and the
// acknowledgements the receiver asks for (through a flag and a kick), so one
// goroutine decides the order of a connection's packets. Write copies into
// a bounded send buffer of chunks (a segment aliases its chunk unless it
// spans two; a chunk is reused once taken entirely and every segment cut
// from it is acknowledged) and kicks the events stage; tx encodes segments
// into datagram buffers from the network's free list (sim.Network.Buffer);
// Read copies out of the payloads deliver queues as they arrived and
// recycles each datagram once read. verify passes a data segment's ack
// fields to the sender only when they changed within its batch. A
// listener's demultiplexer sees a peer's datagrams only until its
// connection exists: then the socket routes them (sim.PacketConn.Route)
// straight to the connection's rx, a link hand-off at a time.
//
// Determinism: with Config.Settle the events stage, before its first batch
// and after each first event, waits on a timer until the next transport
// instant (sim.Network.TransportInstant, an odd nanosecond since the
// network's start) before it drains what is pending. Under testing/synctest
// that timer fires only when every goroutine of the bubble is blocked, and
// links hand packets over only at the even instants between, so by then the
// application has written what it will, the receiver has taken everything
// that arrived before, and nothing arrives while the arq stage reads the
// connection's state: it sends the same packets in every run.
//
// Ending: the sender pipeline's arq stage finishes when both FINs are
// acknowledged (after a TIME-WAIT of four RTOs, extended while the peer keeps resending), after Close once its FIN is
// acknowledged and two RTOs pass (an RST tells a peer that has not finished),
// on an RST, after three unanswered resends of its FIN in LAST-ACK (a clean
// end: everything was delivered), or after MaxRetries timeouts in a row
// (ETIMEDOUT). An end
// with nothing in flight that still waits for the peer's FIN has no
// retransmission timer, so it probes (keepalive; not under ARQ perfect): after MaxRTO of silence it
// sends a SYNACK, which any live end answers with an ACK, and again every
// MaxRTO; after MaxRetries unanswered probes the peer is taken to have given
// up with its RST lost, and the end fails with ETIMEDOUT rather than wait
// for ever (a half-open connection). Then the receiver pipeline is stopped
// and the socket released; Conn.Done closes.
//
// Channels: the actors runtime closes the channels between stages; the
// conn's kick, acks and signal channels are never closed; done and closing
// are closed once.
//
// Limits: MSS bytes per segment, Window packets in flight, RcvBuf bytes
// buffered for Read, SndBuf bytes waiting to be sent; a listener keeps 128
// connections waiting for Accept and 1024 datagrams per connection.
//
// Concurrency: Stack, Listener and Conn are safe for concurrent use.
package rdt
