// Command sink is the SMTP sink the SMTP benchmarks send to: go-smtp
// v0.25.1 (as in shared/anchors/RESULTS.md §4) on 127.0.0.1, discarding and
// counting messages. SIGINT/SIGTERM prints the counts and exits.
package main
