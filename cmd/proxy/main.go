// Command proxy is an HTTP forward proxy with an RFC 9111 cache: point
// curl -x or a browser at it. See Run for the flags.
package main

import "os"

func main() { os.Exit(Run(os.Args[1:], os.Stdout, os.Stderr, nil)) }
