package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"netstages/actors"
	"netstages/actors/graphview"
	"netstages/protocols/echo"
	"netstages/protocols/httpd"
	"netstages/protocols/ping"
	"netstages/protocols/proxy"
	"netstages/protocols/smtp"
	"netstages/sim"
	"netstages/sim/rdt"
	"netstages/transport/mem"
)

// entry is one pipeline family stagegraph can draw: where its graphs come
// from in the code, and how to get them.
type entry struct {
	name   string
	about  string
	source string // the function the graphs come from
	graphs func(fused bool) ([]graphview.Pipeline, error)
}

// entries lists every pipeline family, in the order -list prints them.
func entries() []entry {
	return []entry{
		{"echo", "the reference pipeline: an echo server connection", "protocols/echo: echo.Graph", echoGraphs},
		{"http", "one httpd connection (static files)", "protocols/httpd: (*httpd.Server).Graph", httpGraphs},
		{"proxy", "one proxy connection: client side and upstream side, the cache between", "protocols/proxy: proxy.Graph", proxyGraphs},
		{"ping", "the ping client", "protocols/ping: (*ping.Client).Graph", pingGraphs},
		{"pingd", "the ping server", "protocols/ping: (*ping.Server).Graph", pingdGraphs},
		{"smtp", "the SMTP client session", "protocols/smtp: smtp.Graph", smtpGraphs},
		{"rdt", "a reliable stream over the simulator: sender and receiver", "sim/rdt: (*rdt.Conn).SendGraph, RecvGraph", rdtGraphs},
	}
}

func lookup(name string) (entry, bool) {
	for _, e := range entries() {
		if e.name == name {
			return e, true
		}
	}
	return entry{}, false
}

func one(g actors.Graph) []graphview.Pipeline { return []graphview.Pipeline{{Graph: g}} }

func echoGraphs(fused bool) ([]graphview.Pipeline, error) {
	return one(echo.Graph(echo.Config{Fused: fused})), nil
}

func httpGraphs(fused bool) ([]graphview.Pipeline, error) {
	srv, err := httpd.New(httpd.Config{Root: os.TempDir(), Fused: fused}, nil)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	return one(srv.Graph()), nil
}

func proxyGraphs(bool) ([]graphview.Pipeline, error) {
	return []graphview.Pipeline{{Title: "proxy connection: client side (reader … writer), upstream side (misses … to handler)", Graph: proxy.Graph()}}, nil
}

func smtpGraphs(bool) ([]graphview.Pipeline, error) { return one(smtp.Graph()), nil }

// pingGraphs wires a client on an in-process datagram socket and draws it
// without running it.
func pingGraphs(fused bool) ([]graphview.Pipeline, error) {
	nw := mem.NewNetwork(0)
	pc, err := nw.ListenPacket(context.Background(), "udp", "client:0")
	if err != nil {
		return nil, err
	}
	defer pc.Close()
	to, err := nw.ListenPacket(context.Background(), "udp", "server:7")
	if err != nil {
		return nil, err
	}
	defer to.Close()
	c, err := ping.NewClient(ping.Unconnected(pc, to.LocalAddr()), ping.ClientConfig{Fused: fused}, ping.TextPrinter(io.Discard, true), nil)
	if err != nil {
		return nil, err
	}
	return one(c.Graph()), nil
}

// pingdGraphs wires a server on an in-process datagram socket and draws it
// without running it.
func pingdGraphs(fused bool) ([]graphview.Pipeline, error) {
	pc, err := mem.NewNetwork(0).ListenPacket(context.Background(), "udp", "server:7")
	if err != nil {
		return nil, err
	}
	defer pc.Close()
	s, err := ping.NewServer(pc, ping.ServerConfig{Fused: fused}, nil)
	if err != nil {
		return nil, err
	}
	return one(s.Graph()), nil
}

// rdtGraphs opens one reliable stream between two simulated hosts (no
// faults) and draws the client connection's sender and receiver pipelines,
// which exist only while a connection runs.
func rdtGraphs(bool) (_ []graphview.Pipeline, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nw := sim.New(sim.Config{Seed: 1})
	defer nw.Close()
	if _, err := nw.Connect("client", "server", sim.Faults{}, sim.Faults{}); err != nil {
		return nil, err
	}
	client, err := rdt.New(nw.Host("client"), rdt.Config{})
	if err != nil {
		return nil, err
	}
	server, err := rdt.New(nw.Host("server"), rdt.Config{})
	if err != nil {
		return nil, err
	}
	ln, err := server.Listen(ctx, "tcp", "server:9")
	if err != nil {
		return nil, err
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	c, err := client.DialContext(ctx, "tcp", "server:9")
	if err != nil {
		ln.Close()
		return nil, err
	}
	conn, ok := c.(*rdt.Conn)
	if !ok {
		return nil, fmt.Errorf("rdt: dial gave %T", c)
	}
	pipes := []graphview.Pipeline{
		{Title: "rdt sender", Graph: conn.SendGraph()},
		{Title: "rdt receiver", Graph: conn.RecvGraph()},
	}
	conn.Close()
	if sc, ok := <-accepted; ok {
		sc.Close()
	}
	ln.Close()
	err = errors.Join(client.Wait(ctx), server.Wait(ctx))
	return pipes, err
}
