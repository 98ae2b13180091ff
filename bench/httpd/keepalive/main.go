// Command keepalive opens n keep-alive connections to a server, sends one
// GET on each, reads the answer, and holds them all open for a while: the
// memory-per-idle-connection probe of bench/httpd (as in shared/anchors).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "server address")
	path := flag.String("path", "/1k", "path to GET on each connection")
	n := flag.Int("n", 1000, "connections")
	hold := flag.Duration("hold", 8*time.Second, "how long to hold them open")
	flag.Parse()
	conns := make([]net.Conn, 0, *n)
	for i := range *n {
		c, err := net.Dial("tcp", *addr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "keepalive: dial %d: %v\n", i, err)
			os.Exit(1)
		}
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n", *path)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			fmt.Fprintf(os.Stderr, "keepalive: response %d: %v\n", i, err)
			os.Exit(1)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		conns = append(conns, c)
	}
	fmt.Printf("keepalive: holding %d connections for %v\n", len(conns), *hold)
	time.Sleep(*hold)
	for _, c := range conns {
		c.Close()
	}
}
