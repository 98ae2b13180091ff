// Command ping sends UDP pings to a server that echoes them (pingd, or the
// textbook's Python UDP pinger server) and reports RTT statistics: Linux
// ping's, plus percentiles, RFC 3550 jitter, reordering, late and
// unmatched replies. See protocols/ping.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
