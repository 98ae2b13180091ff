// Package outbox is a durable SMTP outbox on NATS JetStream: Enqueue
// composes nothing and sends nothing, it stores the message in the outbox
// stream; Workers on any number of machines share one durable consumer and
// deliver each message with the netstages smtp client.
//
//	Enqueue ──publish (Nats-Msg-Id = Message-ID)──▶ stream NETSTAGES_OUTBOX, topic netstages.outbox
//	                                                     │ durable pull consumer "outbox" (one fetch per free worker)
//	                                                     ▼
//	Worker: watermill Router ─▶ PoisonQueue ─▶ deadline ─▶ Retry ─▶ handle
//	          (5xx ──▶ netstages.outbox.dead with reason_poisoned)   │
//	                                        ledger (KV netstages_outbox): claim ─▶ smtp.Dial+Send ─▶ record "sent" ─▶ ack
//
// In Mermaid:
//
//	flowchart LR
//	  enqueue -->|"netstages.outbox"| stream[(JetStream)]
//	  stream --> poison[PoisonQueue] --> deadline --> retry[Retry backoff] --> handle
//	  handle --> ledger[(KV ledger)]
//	  handle --> smtp[smtp client] --> server[SMTP server]
//	  poison -->|"5xx: netstages.outbox.dead"| stream
//
// Failures: a 4xx reply or a connection error is temporary: the Retry
// middleware tries again with exponential backoff, and when the retries run
// out the message is Nacked and JetStream delivers it again after NakDelay.
// A 5xx reply (or an item that cannot be decoded) is permanent: PoisonQueue
// publishes it on DeadTopic with the reason in the reason_poisoned header
// and acks it. When the server takes the message for some recipients and
// refuses others, the message counts as sent and an item for just the
// refused recipients goes to DeadTopic with every RCPT reply as the reason
// (a 4xx refusal there is not retried: the Message-ID is recorded as sent).
//
// Exactly once, and where it is not. The "already delivered" record lives
// in a JetStream key-value bucket beside the outbox, keyed by a hash of the
// Message-ID, so it is shared by every worker and survives any of them. For
// each delivery a worker first claims the Message-ID (an atomic create),
// then runs the SMTP transaction, then records "sent" and only then acks the
// outbox message. A crash after the record and before the ack is harmless:
// the redelivered message finds "sent" and is acked without being sent. A
// crash before the DATA terminator is harmless: the server has not accepted
// anything, and after the claim's lease (AckWait) another attempt takes the
// claim over and sends. What is left is the window from the moment the
// server has the final "." until "sent" is stored in JetStream: one SMTP
// reply plus one JetStream round trip (about a millisecond on a LAN). A
// crash there, or a connection lost while waiting for the 250, leaves the
// claim without an outcome; the next attempt takes it over and sends again
// (at-least-once; it logs a warning and counts Stats.Takeovers). SMTP
// itself has the same window (RFC 1047); only a receiver that de-duplicates
// by Message-ID closes it. Duplicate enqueues of one Message-ID are dropped
// by JetStream within the stream's Duplicates window (an hour) and by the
// ledger after it (for LedgerTTL). The claim lease compares the KV entry's
// server timestamp with the worker's clock: clocks must agree to well
// within AckWait.
//
// Sessions: a worker keeps its SMTP session between messages (one
// transaction after another) while it is used at least every KeepSession
// (30 s); a session the server ended while idle is replaced before anything
// is sent, and any error ends the session.
//
// Concurrency: a Worker handles one message at a time; run more workers
// (processes or machines) to deliver in parallel. The workers share one
// durable pull consumer and each fetches the next message only when it is
// done with the last, so a backlog is spread over the workers that are
// free. Config.MaxInFlight (default 1000) caps the messages being
// delivered at once over the group. Enqueue, Publish and a
// Worker's methods are safe for concurrent use.
//
// Limits: an item is at most MaxItem (1 MiB, NATS's default max payload)
// encoded; the message itself is checked by the smtp client (998-octet
// lines, the server's SIZE).
package outbox
