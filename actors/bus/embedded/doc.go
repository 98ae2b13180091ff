// Package embedded runs a NATS server with JetStream inside the process
// (github.com/nats-io/nats-server/v2 as a library), so one machine gets a
// durable event bus and SMTP outbox with nothing installed: JetStream keeps
// its streams as files under a state directory and they survive a restart.
//
//	process ──Start──▶ nats-server (goroutines) ──file store──▶ <state-dir>/jetstream
//	        ◀─URL()──  nats://127.0.0.1:PORT  ◀── bus.DialJetStream, other processes
//
// Who closes what: Start returns a running server; Shutdown stops it and
// waits until it has stopped (safe to call more than once). The server
// listens on 127.0.0.1 only unless Config.Host says otherwise, so other
// processes on the machine (a second worker, the collector) can share it.
//
// A Server is safe for concurrent use. Limits are nats-server's own
// (1 MiB max payload by default).
package embedded
