package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/oklog/run"

	"netstages/actors/bus"
	"netstages/actors/bus/embedded"
	"netstages/cmd/internal/cli"
)

// topics the collector follows.
func topics() []string {
	return []string{bus.TopicRequest, bus.TopicConn, bus.TopicPacket, bus.TopicMail}
}

// Ready is what Run reports once it serves (for tests).
type Ready struct {
	Addr string // the HTTP address
	Bus  string // the NATS URL (the embedded server's with -state-dir)
}

// Run is the collector's whole life; ready, if not nil, receives the
// addresses once it serves.
func Run(args []string, stdout, stderr io.Writer, ready chan<- Ready) int {
	cmd := cli.New("collector", "-bus nats://HOST:PORT | -state-dir DIR [-addr 127.0.0.1:9090] [-access-log -|FILE|''] [-log-format common|combined] [-since D] [-v]",
		"Fleet collector: reads every netstages event from NATS JetStream and serves a merged access log, ping statistics per target across probes and per-instance counts.", stderr)
	busURL := cmd.Flags.String("bus", "", "NATS JetStream server to read events from (nats://HOST:PORT)")
	stateDir := cmd.Flags.String("state-dir", "", "run an embedded NATS server with JetStream storage in this directory (when -bus is not given)")
	addr := cmd.Flags.String("addr", "127.0.0.1:9090", "serve the summary on this address: / (HTML) and /summary.json")
	accessLog := cmd.Flags.String("access-log", "-", "write the merged access log here, each line prefixed by the instance ('-' stdout, '' none)")
	logFormat := cmd.Flags.String("log-format", "common", "merged access-log format: common or combined")
	since := cmd.Flags.Duration("since", 0, "start with the events of this last period (e.g. 1h) instead of all the stream keeps (24 h)")
	if code, done := cmd.Parse(args); done {
		return code
	}
	if cmd.Flags.NArg() > 0 {
		return cmd.Usagef("unexpected argument %q", cmd.Flags.Arg(0))
	}
	if (*busURL == "") == (*stateDir == "") {
		return cmd.Usagef("give exactly one of -bus nats://HOST:PORT and -state-dir DIR")
	}
	if *busURL != "" {
		if err := cli.CheckNATS(*busURL, "the collector reads the fleet from NATS JetStream: give -bus nats://HOST:PORT, or -state-dir DIR for an embedded server"); err != nil {
			return cmd.Usagef("%v", err)
		}
	}
	format, err := bus.ParseLogFormat(*logFormat)
	if err != nil || format == bus.FormatJSON {
		return cmd.Usagef("-log-format: want common or combined")
	}
	if *since < 0 {
		return cmd.Usagef("-since must not be negative")
	}
	if err := cli.ListenAddr(*addr); err != nil {
		return cmd.Usagef("-addr: %v", err)
	}
	log := cmd.Logger()

	var logOut io.Writer
	switch *accessLog {
	case "":
	case "-":
		logOut = stdout
	default:
		f, err := os.OpenFile(*accessLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return cmd.Failf("-access-log: %v", err)
		}
		defer f.Close()
		logOut = f
	}
	url := *busURL
	if *stateDir != "" {
		srv, err := embedded.Start(embedded.Config{Dir: *stateDir})
		if err != nil {
			return cmd.Failf("%v", err)
		}
		defer srv.Shutdown()
		url = srv.URL()
		fmt.Fprintf(stderr, "collector: embedded NATS JetStream on %s (state in %s)\n", url, *stateDir)
	}
	js, err := bus.DialJetStream(url, log)
	if err != nil {
		return cmd.Failf("%v", err)
	}
	defer js.Close()
	if err := js.EnsureStream(bus.EventStream()); err != nil {
		return cmd.Failf("%v", err)
	}
	// An ephemeral consumer from the start of the stream (or -since): a
	// restarted collector rebuilds its view from what the stream still keeps.
	sub, err := js.Subscriber(bus.SubscriberConfig{AckAsync: true, Since: *since})
	if err != nil {
		return cmd.Failf("%v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feeds := make([]<-chan *message.Message, len(topics()))
	for i, t := range topics() {
		if feeds[i], err = sub.Subscribe(ctx, t); err != nil {
			_ = sub.Close()
			return cmd.Failf("subscribe %s: %v", t, err)
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		_ = sub.Close()
		return cmd.Failf("-addr: %v", err)
	}
	fleet := NewFleet(logOut, format)
	fmt.Fprintf(stderr, "collector: reading %s; summary on http://%s/ and http://%s/summary.json\n", url, ln.Addr(), ln.Addr())
	if ready != nil {
		ready <- Ready{Addr: ln.Addr().String(), Bus: url}
	}

	var g run.Group
	// Signals: SIGINT or SIGTERM ends the group.
	g.Add(run.SignalHandler(ctx, os.Interrupt, syscall.SIGTERM))
	// Feeds: one actor per topic folds its events into the fleet view, in
	// stream order. Closing the subscriber closes every feed.
	for _, feed := range feeds {
		g.Add(func() error { return follow(feed, fleet) }, func(error) { cancel(); _ = sub.Close() })
	}
	// Summary server: / (HTML) and /summary.json.
	web := &http.Server{Handler: handler(fleet), ReadHeaderTimeout: 5 * time.Second}
	g.Add(func() error {
		if err := web.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, func(error) { web.Close() })

	err = g.Run()
	s := fleet.Summary()
	fmt.Fprintf(stderr, "collector: stopped; %d events from %d instances, %d requests\n", s.Events, len(s.Instances), s.Requests)
	if err != nil && !errors.As(err, &run.SignalError{}) {
		return cmd.Failf("%v", err)
	}
	return cli.ExitOK
}

// follow folds one feed into the fleet until the feed closes.
func follow(feed <-chan *message.Message, fleet *Fleet) error {
	for msg := range feed {
		s, err := bus.DecodeStamped(msg)
		msg.Ack()
		if err != nil {
			fleet.Undecodable()
			continue
		}
		if err := fleet.Add(s); err != nil {
			return fmt.Errorf("access log: %w", err)
		}
		if err := fleet.Flush(); err != nil {
			return fmt.Errorf("access log: %w", err)
		}
	}
	return nil
}

func handler(fleet *Fleet) http.Handler {
	page := newPage()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /summary.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(fleet.Summary())
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, fleet.Summary())
	})
	return mux
}
