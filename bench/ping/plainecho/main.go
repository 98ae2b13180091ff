// Command plainecho is the benchmark baseline for pingd: the smallest Go
// UDP echo server, one goroutine doing ReadFrom and WriteTo, upper-casing
// like pingd. No pipeline, no options.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:12001", "listen address (UDP)")
	sockBuf := flag.Int("sockbuf", 4<<20, "socket receive/send buffer in bytes, as pingd asks for (0: kernel default)")
	flag.Parse()
	pc, err := net.ListenUDP("udp", mustResolve(*addr))
	if err != nil {
		fmt.Fprintln(os.Stderr, "plainecho:", err)
		os.Exit(1)
	}
	if *sockBuf > 0 {
		pc.SetReadBuffer(*sockBuf)
		pc.SetWriteBuffer(*sockBuf)
	}
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, "plainecho:", err)
			os.Exit(1)
		}
		for i, c := range buf[:n] {
			if 'a' <= c && c <= 'z' {
				buf[i] = c - ('a' - 'A')
			}
		}
		pc.WriteTo(buf[:n], from)
	}
}

func mustResolve(addr string) *net.UDPAddr {
	a, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plainecho:", err)
		os.Exit(2)
	}
	return a
}
