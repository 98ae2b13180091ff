// Command httpd serves a directory over HTTP/1.1: a static file server to
// use instead of python3 -m http.server, built as a visible stage pipeline.
// See protocols/httpd.
package main

import (
	"os"
)

func main() {
	os.Exit(Run(os.Args[1:], os.Stdout, os.Stderr, nil))
}
