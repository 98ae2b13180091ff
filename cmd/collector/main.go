// Command collector aggregates the events of a netstages fleet from NATS
// JetStream: one merged access log, per-target ping statistics across
// probes, per-instance counts; a JSON summary and an HTML page on -addr.
package main

import "os"

func main() {
	os.Exit(Run(os.Args[1:], os.Stdout, os.Stderr, nil))
}
