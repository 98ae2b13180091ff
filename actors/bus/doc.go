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
// A Bus and the subscribers are safe for concurrent use.
package bus
