// Package bus carries netstages events — a connection opened or closed, a
// request answered, a ping packet sent or lost — from the pipelines that see
// them to the actors that want them (the access-log writer, the connection
// counter, metrics), on a github.com/ThreeDotsLabs/watermill pub/sub. The
// embedded default is watermill's GoChannel: nothing to install.
//
//	pipelines ──Publish──▶ bounded queue ──Bus.Run──▶ watermill topic ──▶ subscriber actors
//	          (never blocks;                (one goroutine,               (AccessLog, ConnCounter)
//	           drops and counts)             JSON, in order)
//
// Events, not items: watermill spends a UUID, a map and goroutines on each
// message, so the bus carries one event per connection, request or packet,
// never the items that flow between stages (house rule 10).
//
// Publishing never blocks a connection: Publish puts the event on a bounded
// queue and, when the queue is full, drops it and counts the drop. Stats shows
// the drops, and Run logs them when it ends.
//
// Lifecycle: create the Bus, create the subscribers (they subscribe at once,
// so no event is missed), run Bus.Run and each subscriber's Run as actors.
// Close the Bus after the publishers have stopped: it publishes what is still
// queued, then closes the pub/sub, which ends every subscriber's Run.
//
// Backends (Open, the -bus flag): "mem" is the bus above and nothing else.
// "nats://HOST:PORT" adds a forwarder behind the watermill topic: every
// event, in its JSON envelope ({"schema":1,"instance":…,"kind":…,"event":…}),
// also goes to NATS JetStream (stream NETSTAGES_EVENTS, kept 24 h), where
// cmd/collector merges a fleet. The forwarder has its own bounded queue and
// goroutine and publishes asynchronously; when NATS is slow or gone it drops
// and counts (Stats.ForwardDropped), it never blocks Run nor a connection.
// Local subscribers keep seeing only this process's events.
//
//	Bus.Run ──▶ GoChannel topic ──▶ local subscribers
//	   └──────▶ forwarder queue ──forwarder──▶ JetStream ──▶ collector, other fleet consumers
//
// JetStream (DialJetStream) is the connection the fleet tools share: it
// creates streams and hands out watermill-nats publishers and subscribers,
// each on its own NATS connection; a Subscriber's Close waits until its
// connection has drained. A subscriber group (SubscriberConfig.Group, the
// SMTP outbox's workers) is a durable pull consumer read by a subscriber of
// our own (group.go): each member fetches one message and the next only
// when that one is acked or nacked, so work goes to members that are free.
// Package embedded runs a NATS server in the process.
//
// Limits: NATS's max payload (1 MiB by default) bounds one event; the
// envelope decoder refuses unknown schema versions and kinds.
//
// A Bus, a JetStream and the subscribers are safe for concurrent use.
package bus
