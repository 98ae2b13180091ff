package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/oklog/run"

	"netstages/actors"
	"netstages/actors/bus"
	"netstages/actors/graphview"
	"netstages/cmd/internal/cli"
	"netstages/protocols/echo"
)

// Run is echod's whole life; ready, if not nil, receives the listening
// address, then the status listener's address when -status-addr is set
// (tests use them).
func Run(args []string, stdout, stderr io.Writer, ready chan<- string) int {
	cmd := cli.New("echod", "[-addr 127.0.0.1:7007] [-status-addr 127.0.0.1:7070] [-max-conns N] [-max-line BYTES] [-grace D] [-fused] [-v]",
		"Echo server: every line a client sends comes back unchanged.", stderr)
	addr := cmd.Flags.String("addr", "127.0.0.1:7007", "listen address")
	maxConns := cmd.Flags.Int("max-conns", 10000, "most simultaneous connections; more are told 'busy' and closed (0: no limit)")
	maxLine := cmd.Flags.Int("max-line", echo.DefaultMaxLine, "longest line in bytes; a longer one gets an error and the connection closes")
	grace := cmd.Flags.Duration("grace", 5*time.Second, "on SIGINT/SIGTERM, how long connections may finish before they are closed")
	statusAddr := cmd.Flags.String("status-addr", "", "serve the live stage view on this address at /debug/stages (HTML page, ?format=json, ?format=svg); off when empty")
	fused := cmd.Flags.Bool("fused", false, "run framer, parser, handler and writer inside the reader's goroutine (1 goroutine per connection instead of 5; same stages)")
	busFlags := cmd.BusFlags() // -bus mem|nats://HOST:PORT, -instance (issue 10)
	if code, done := cmd.Parse(args); done {
		return code
	}
	if err := busFlags.Check(); err != nil {
		return cmd.Usagef("%v", err)
	}
	if err := cmd.CheckServerArgs([]cli.AddrFlag{{Name: "addr", Value: *addr},
		{Name: "status-addr", Value: *statusAddr, Optional: true}}); err != nil {
		return cmd.Usagef("%v", err)
	}
	if *maxConns < 0 || *maxLine < 2 || *grace < 0 {
		return cmd.Usagef("-max-conns, -max-line and -grace must be positive")
	}
	log := cmd.Logger()

	ln, statusLn, err := cli.Listen(*addr, *statusAddr)
	if err != nil {
		return cmd.Failf("%v", err)
	}
	events, err := busFlags.Open(log)
	if err != nil {
		return cmd.Failf("%v", err)
	}
	counter, err := bus.NewConnCounter(events, func(c bus.ConnCounts) {
		log.Debug("connections", "active", c.Active, "opened", c.Opened, "refused", c.Refused)
	})
	if err != nil {
		return cmd.Failf("%v", err)
	}
	meter := actors.NewMeter()
	srv := &actors.Server{
		Name:     "echod",
		Handle:   echo.Handler(echo.Config{MaxLine: *maxLine, Fused: *fused}, meter),
		MaxConns: *maxConns,
		Refuse:   func(c net.Conn) { io.WriteString(c, "busy: too many connections, try later\n") },
		Grace:    *grace,
		Log:      log,
		Bus:      events,
	}
	fmt.Fprintf(stdout, "echod: serving echo on %s (try: nc %s)\n", ln.Addr(), hostPort(ln.Addr()))
	if statusLn != nil {
		fmt.Fprintf(stdout, "echod: live stages on http://%s/debug/stages\n", statusLn.Addr())
	}
	if ready != nil {
		ready <- ln.Addr().String()
		if statusLn != nil {
			ready <- statusLn.Addr().String()
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serve, shutdown, served := cli.ServerActor(srv, ln)
	var g run.Group
	// Signals: SIGINT or SIGTERM ends the group; this actor stops first.
	g.Add(run.SignalHandler(ctx, os.Interrupt, syscall.SIGTERM))
	// Accept loop: interrupted by Shutdown, which stops accepting, lets
	// connections answer what they have read for -grace, then closes them.
	// Serve returns when every connection is gone.
	g.Add(serve, shutdown)
	// Event bus: stopped only after the server has drained, so the last
	// connection events are published; then it closes the subscribers.
	g.Add(cli.BusActor(ctx, events, served))
	// Connection counter: ends when the bus closes.
	g.Add(counter.Run, func(error) {})
	// Status listener (-status-addr): the live stage view. Closed as soon
	// as the group ends; it only reads the meter, so order does not matter.
	if statusLn != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /debug/stages", graphview.Handler(graphview.View{Title: "echod", Meter: meter,
			Graph: echo.Graph(echo.Config{MaxLine: *maxLine, Fused: *fused})}))
		g.Add(cli.HTTPActor(statusLn, mux, nil))
	}

	err = g.Run()
	c := counter.Counts()
	fmt.Fprintf(stdout, "echod: stopped; %d connections served, %d refused, %d events dropped\n",
		c.Opened, c.Refused, events.Stats().Dropped)
	if err != nil && !errors.As(err, &run.SignalError{}) {
		return cmd.Failf("%v", err)
	}
	return cli.ExitOK
}

func hostPort(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host + " " + port
}
