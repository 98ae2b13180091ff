// Command echod serves the echo protocol: every line comes back unchanged.
// It is the reference netstages server; see protocols/echo.
package main

import (
	"os"
)

func main() {
	os.Exit(Run(os.Args[1:], os.Stdout, os.Stderr, nil))
}
