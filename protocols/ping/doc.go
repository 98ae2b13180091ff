// Package ping is the UDP pinger of the Kurose & Ross course grown into a
// measurement tool: a client (cmd/ping) that sends probes on its own
// schedule and reports RTT statistics beyond Linux ping's, and a server
// (cmd/pingd) that echoes them with optional, seeded loss, delay and jitter
// and tracks heartbeats.
//
// # Wire format
//
// Text, compatible with the textbook's pinger: the client sends
// "Ping <seq> <time>" (seq from 1, time in seconds since the epoch with six
// decimals), then " heartbeat" for ping -heartbeat, then, with -s, a space
// and 'x's up to the size. The server echoes every datagram that begins
// with "Ping " (the rest is opaque) upper-cased by default, unchanged with
// EchoSame. The client accepts "PING " or "Ping " in any case. RTT comes
// from the monotonic clock, never from the echoed time.
//
// # Pipelines
//
// Datagrams are already units, so neither pipeline has a framer: the kernel
// keeps the boundaries, and the parser checks each datagram's syntax. Items
// are batches: on a real UDP socket the reader takes up to BatchSize
// datagrams per recvmmsg(2), each stage answers a batch with a batch, and
// pingd's writer sends a batch of echoes with one sendmmsg(2), so under load
// one channel hand-off and one system call carry many datagrams; when idle
// a batch holds one.
//
// The parser, handler and writer of both pipelines, and the client's
// sender, are step stages (actors.Step, actors.StepSink): their state lives
// in closures, so with ServerConfig.Fused / ClientConfig.Fused (cmd/pingd
// and cmd/ping turn them on by default) they run inside their source's
// goroutine (the reader's; the pacer's for the sender) and each edge after
// a source is a direct call; without, each stage has a goroutine
// and the edges are channels of 64 batches. Same stages, same graph. Fused,
// a request costs no goroutine wake-up between its read and its echo.
//
// Server (one pipeline for the socket, every client; the edges are direct
// calls when fused, channels otherwise):
//
//	flowchart LR
//	  reader["reader<br/>reads datagrams (and ticks)"] -- "[]ping.Datagram (direct call | buf 64)" --> parser
//	  parser["parser<br/>checks the Ping prefix"] -- "[]ping.Request (direct call | buf 64)" --> handler
//	  handler["handler<br/>loss, delay, heartbeats"] -- "[]ping.EchoOut (direct call | buf 64)" --> writer["writer<br/>sends echoes, now or later"]
//
// Client (one pipeline, two chains sharing the Stats under a mutex):
//
//	flowchart LR
//	  pacer["pacer<br/>schedules sends every -i"] -- "ping.Probe (direct call | buf 64)" --> sender["sender<br/>stamps and sends probes"]
//	  reader["reader<br/>reads replies (and ticks)"] -- "[]ping.Datagram (direct call | buf 64)" --> parser
//	  parser["parser<br/>parses PING seq time"] -- "[]ping.Event (direct call | buf 64)" --> handler
//	  handler["handler<br/>matches replies, expires probes"] -- "[]ping.Report (direct call | buf 64)" --> writer["writer<br/>prints a line per packet"]
//	  sender -. "Stats.Sent (mutex)" .- handler
//
// Sending is its own chain, so a slow or lost reply never delays the next
// send. Time-based work (probe timeouts, heartbeat silence) needs no timer
// in the handler: the reader keeps a read deadline a tick ahead and sends a
// Tick item when it passes, so every stage keeps a single input. pingd's
// delayed echoes are the one timer: the writer hands each to
// time.AfterFunc, so a delay never blocks the writer — nor, fused, the
// reader.
//
// # Channels, shutdown, concurrency
//
// The actors runtime creates and closes every channel; no stage closes
// one. The interrupt closes the socket (unblocking the reader) and, in the
// server, cancels the timers of delayed echoes. The client ends when its
// handler has settled the last probe: it returns actors.ErrFinished, its
// output ends, and the writer's end function flushes and stops the pipeline
// (fused, the reader would otherwise sit in its read); or when its context
// ends, after which Run flushes what the printer still holds. Server.Counts, Client.Summary and
// Stop are safe for concurrent use; Stats and Heartbeats are not (one stage
// owns each; the client guards its Stats with a mutex).
//
// # Randomness and time
//
// pingd's loss and delay draws come from two PRNGs owned by the server,
// rand.New(rand.NewPCG(seed, stream)), one per fault: the n-th request's
// fate depends only on the seed and n (see Drops). Time is the time
// package's monotonic clock, which testing/synctest replaces in tests.
//
// # Limits
//
// A datagram is at most MaxDatagram bytes (larger are impossible over
// IPv4 UDP); the sequence field at most 20 digits. The reader holds
// BatchSize buffers of MaxDatagram+1 bytes (512 KiB) so no datagram is
// cut short, and asks the kernel for SocketBuffer-sized socket buffers. The client remembers the
// last Window(timeout, interval) probes and keeps at most 2^20 RTT samples
// for percentiles (a reservoir sample past that). The server tracks at most
// MaxPeers heartbeat clients, holds at most MaxDelayed delayed echoes and
// MaxDelayedBytes of them (more are dropped and counted as Overflow), and publishes at most 64 PacketLost
// events per heartbeat gap.
//
// Heartbeat sequences: a jump forward is a gap (lost heartbeats); a
// heartbeat at most 1024 behind the highest seen is late and changes
// nothing; seq 1, or one further behind, means the client restarted, and
// tracking resumes from it. Arithmetic never wraps near 2^64.
package ping
