package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"netstages/protocols/smtp/smtptest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2525", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sink:", err)
		os.Exit(1)
	}
	b := &smtptest.Backend{Discard: true}
	stop := smtptest.Start(ln, b, smtptest.Options{})
	fmt.Printf("sink: go-smtp on %s\n", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	stop()
	fmt.Printf("sink: %d messages in %d sessions\n", b.Count(), b.Sessions())
}
