// Command pingd answers UDP pings: every datagram that begins with "Ping "
// comes back upper-cased (like the textbook's Python server) or unchanged,
// with optional seeded loss, delay and jitter, and heartbeat tracking. See
// protocols/ping. -status-addr serves the live stage view of its pipeline
// at /debug/stages.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, nil))
}
