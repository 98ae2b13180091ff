// Package sim is the deterministic network simulator of netstages: a
// Network of named hosts joined by links. Each direction of a link is an
// actors pipeline of fault stages, like toxiproxy's toxics, so links draw
// themselves like protocol pipelines do:
//
//	flowchart LR
//	  ingress["ingress<br/>numbers packets in send order"] --> mtu
//	  mtu["mtu<br/>drops payloads over the MTU"] --> updown
//	  updown["updown<br/>drops while the link is down"] --> script
//	  script["script<br/>drops listed packets"] --> rate
//	  rate["rate<br/>serialization, bounded queue, tail drop"] --> loss
//	  loss["loss<br/>Bernoulli p"] --> burst
//	  burst["burst<br/>Gilbert-Elliott"] --> corrupt
//	  corrupt["corrupt<br/>flips a bit"] --> dup
//	  dup["dup<br/>duplicates"] --> latency
//	  latency["latency<br/>delay ± jitter"] --> reorder
//	  reorder["reorder<br/>holds a packet back"] --> deliver["deliver<br/>waits until due, hands to the socket"]
//
// Only the stages whose fault is set are wired (updown always is). Items are
// batches of *Packet. A packet carries its send time; the fault stages work
// out its departure and due times from it without sleeping, so delays never
// add up and each stage sees the packets in the direction's order. So the
// fault stages and deliver are step stages fused into the ingress goroutine
// (their edges are direct calls), which is the direction's one goroutine,
// its scheduler: it numbers what arrived, deliver records each fate, hands
// over the packets already due and keeps the rest in a heap by (due time,
// index), and the ingress goroutine sleeps on one timer until the earliest
// of them is due. Numbering and handing over never happen in two goroutines,
// so they cannot race at one instant. Dropped
// packets travel to the end too (marked with the reason), so every stage
// sees every packet and the deliver stage records every fate.
//
// Direct mode: on a fault-free direction (Faults.faultFree: no delay, loss,
// rate or schedule; an MTU is fine) of a network without Settle, a sender
// runs the fused chain itself, under the direction's scheduling mutex, so a
// packet reaches the far socket before Send returns, with no hand-off to the
// ingress goroutine (which then only sleeps until packets not yet due are
// due; on such a direction there are none). The graph is the same. On a
// faulty direction the ingress goroutine keeps the batching: one call of
// each stage per batch, not per packet.
//
// Hand-over: the packets one deliver step hands over at once to one
// destination go as one item to a route (PacketConn.Route: a peer's
// datagrams straight to a queue of the owner's choosing, as a kernel hands a
// connected flow to its socket; sim/rdt's listeners route each connection),
// or one by one to the socket's queue. Network.Buffer and Network.Recycle
// keep a bounded free list of datagram buffers, which sim/rdt uses for its
// segments.
//
// Determinism: each fault draws from its own PRNG,
// rand.New(rand.NewPCG(seed, fnv(link, direction, fault))) (see Stream), a
// fixed number of values for every packet of its direction, dropped or not.
// The n-th packet's fate on a link thus depends on the seed, the link, the
// direction and n (and, for the rate queue, on the send times); adding a
// fault or a link never shifts another fault's draws. With Config.Settle
// time is split into network instants (even nanoseconds since Start) and
// transport instants (odd ones; see Network.TransportInstant): a link
// numbers the packets sent before the current network instant, in a
// canonical order (by source, then destination), and hands packets to
// sockets only at network instants; a transport that settles decides only
// at transport instants. Under testing/synctest a timer fires only once
// every goroutine of the bubble is blocked, so each side sees everything the
// other did at earlier instants and nothing of what it does now: packets get
// the same indices and arrive in the same order in every run.
//
// Hosts give datagram sockets in transport.Network's shape (ListenPacket);
// streams come from package sim/rdt on top of them. Hosts reach each other
// only over a direct link (no routing); a host reaches itself without one.
//
// Channels: the actors runtime creates and closes every channel between
// stages. A socket's queue (SocketQueue datagrams) is never closed; Close
// closes the socket's done channel. Network.Close cancels every link's
// pipeline and waits for it.
//
// Time: the sim blocks only on channels and timers, never on a held mutex or
// real I/O, so it runs inside testing/synctest bubbles, where a minute of
// simulated traffic takes milliseconds and every timing is exact.
//
// Limits: a direction holds at most Config.InFlight packets between ingress
// and delivery (senders block beyond); a socket queues SocketQueue
// datagrams (more are dropped as "rcvbuf"), a route queue what its owner
// chose; the free list keeps at most 16 MiB of buffers.
//
// Concurrency: Network, Host, Link and PacketConn are safe for concurrent
// use. Imports: sim may import transport and actors, never protocols.
package sim
