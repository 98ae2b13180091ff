// Command collector aggregates the events of a netstages fleet from NATS
// JetStream: one merged access log, per-target ping statistics across
// probes, per-instance counts; a JSON summary and an HTML page on -addr.
//
//	JetStream NETSTAGES_EVENTS ──ephemeral consumer, from the start──▶ one feed per topic
//	  feed actors (request, conn, packet, mail) ──DecodeStamped──▶ Fleet (mutex) ──▶ merged access log
//	  summary server: GET / (HTML), GET /summary.json ◀── Fleet.Summary
//
// In Mermaid:
//
//	flowchart LR
//	  js[(JetStream)] --> request & conn & packet & mail
//	  request & conn & packet & mail --> fleet[Fleet]
//	  fleet --> log[merged access log]
//	  fleet --> web["/ and /summary.json"]
//
// Who closes what: closing the watermill subscriber closes every feed, and
// each feed actor returns when its feed closes; the HTTP server is closed
// by the run group. Fleet is safe for concurrent use. Limits: RTT samples
// kept for the median are bounded per target and probe (4096), the log tail
// in the summary to 50 lines; events come from the stream, each bounded by
// NATS's max payload.
package main
