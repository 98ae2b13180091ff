// Command netsim runs netstages protocols over simulated networks. Its
// first subcommand, tour, runs every protocol in one process and shows what
// happened, stage by stage.
package main

import "os"

func main() {
	os.Exit(Run(os.Args[1:], os.Stdout, os.Stderr))
}
