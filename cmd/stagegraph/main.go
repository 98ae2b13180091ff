// Command stagegraph draws the stage pipelines of netstages — echo, http,
// proxy, ping, pingd, smtp, rdt — as DOT, Mermaid, SVG or PNG, from the
// graphs the pipelines record while they are wired. It also keeps the
// generated graphs section of ARCHITECTURE.md up to date (go generate).
package main

import "os"

//go:generate go run . -update-doc ../../ARCHITECTURE.md

func main() {
	os.Exit(Run(os.Args[1:], os.Stdout, os.Stderr))
}
