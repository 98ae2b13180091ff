package main

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/oklog/run"

	"netstages/actors"
	"netstages/actors/bus"
	"netstages/actors/graphview"
	"netstages/cmd/internal/cli"
	"netstages/protocols/ping"
	"netstages/transport"
)

// Run is pingd's whole life; ctx ending acts like SIGTERM, and ready, if not
// nil, receives the listening address, then the status listener's address
// when -status-addr is set (tests use both).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) int {
	cmd := cli.New("pingd", "[-addr 127.0.0.1:12000] [-loss 0] [-delay 0] [-jitter 0] [-seed N] [-echo upper|same] [-heartbeat-timeout 0] [-status-addr ADDR] [-fused] [-v]",
		"UDP ping server: echoes every datagram that begins with 'Ping ', like the textbook's\nPython server, with optional seeded loss, delay and jitter, and heartbeat tracking.", stderr)
	addr := cmd.Flags.String("addr", "127.0.0.1:12000", "listen address (UDP)")
	loss := cmd.Flags.Float64("loss", 0, "fraction of requests to drop, 0 to 1 (the textbook server drops 4 in 11)")
	delay := cmd.Flags.Duration("delay", 0, "delay every echo by this much (without holding up other requests)")
	jitter := cmd.Flags.Duration("jitter", 0, "add a uniform draw in [-jitter, +jitter] to each echo's delay")
	seed := cmd.Flags.Uint64("seed", 0, "seed of the loss and delay draws, for reproducible runs (default: random, printed)")
	echoMode := cmd.Flags.String("echo", ping.EchoUpper, "echo 'upper' (upper-cased, like the textbook) or 'same' (unchanged)")
	hbTimeout := cmd.Flags.Duration("heartbeat-timeout", 0, "track heartbeat clients (ping -heartbeat); report one down after this much silence (0: off)")
	fused := cmd.Flags.Bool("fused", true, "run parser, handler and writer in the reader's goroutine: one goroutine, no hand-off per datagram;\n-fused=false gives each stage its own goroutine (same graph)")
	statusAddr := cmd.Flags.String("status-addr", "", "serve the live stage view on this address at /debug/stages (HTML page, ?format=json, ?format=svg); off when empty")
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
	seedSet := false
	cmd.Flags.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })
	if !seedSet {
		*seed = randomSeed()
	}
	log := cmd.Logger()
	events, err := busFlags.Open(log)
	if err != nil {
		return cmd.Failf("%v", err)
	}
	cfg := ping.ServerConfig{Loss: *loss, Delay: *delay, Jitter: *jitter, Seed: *seed, Echo: *echoMode,
		HeartbeatTimeout: *hbTimeout, Fused: *fused, Bus: events, Log: serverLog(cmd, stderr)}
	if err := cfg.Validate(); err != nil {
		return cmd.Usagef("%v", err)
	}
	pc, err := (&transport.System{}).ListenPacket(ctx, "udp", *addr)
	if err != nil {
		return cmd.Failf("%v", err)
	}
	meter := actors.NewMeter()
	srv, err := ping.NewServer(pc, cfg, meter)
	if err != nil {
		pc.Close()
		return cmd.Failf("%v", err)
	}
	var statusLn net.Listener
	if *statusAddr != "" {
		if statusLn, err = net.Listen("tcp", *statusAddr); err != nil {
			srv.Stop()
			return cmd.Failf("-status-addr: %v", err)
		}
	}
	fmt.Fprintf(stdout, "pingd: serving UDP ping on %s (echo %s, loss %g, delay %v±%v, seed %d; try: go run ./cmd/ping %s)\n",
		pc.LocalAddr(), *echoMode, *loss, *delay, *jitter, *seed, pc.LocalAddr())
	if statusLn != nil {
		fmt.Fprintf(stdout, "pingd: live stages on http://%s/debug/stages\n", statusLn.Addr())
	}
	if ready != nil {
		ready <- pc.LocalAddr().String()
		if statusLn != nil {
			ready <- statusLn.Addr().String()
		}
	}
	peers, err := newPeerCounter(events)
	if err != nil {
		srv.Stop()
		if statusLn != nil {
			statusLn.Close()
		}
		return cmd.Failf("%v", err)
	}

	busCtx, cancelBus := context.WithCancel(context.Background())
	defer cancelBus()
	served := make(chan struct{})
	var g run.Group
	// Signals: SIGINT or SIGTERM (or ctx ending) ends the group first.
	g.Add(run.SignalHandler(ctx, os.Interrupt, syscall.SIGTERM))
	// Server: one pipeline for the socket; Stop closes the socket and
	// cancels delayed echoes still waiting.
	g.Add(func() error {
		defer close(served)
		return srv.Run(context.Background())
	}, func(error) { srv.Stop() })
	// Event bus: closed only after the server has stopped, so its last
	// heartbeat events are delivered; closing it ends the subscribers.
	g.Add(func() error { return events.Run(busCtx) }, func(error) {
		<-served
		events.Close()
	})
	// Peer counter: counts PeerDown/PeerBack events; ends when the bus closes.
	g.Add(peers.run, func(error) {})
	// Status listener (-status-addr): the live stage view of the server's
	// pipeline. Closed once the server has stopped, so the last counts can
	// still be read; it only reads the meter.
	if statusLn != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /debug/stages", graphview.Handler(graphview.View{Title: "pingd", Meter: meter, Graph: srv.Graph()}))
		g.Add(cli.HTTPActor(statusLn, mux, served))
	}
	err = g.Run()
	c := srv.Counts()
	fmt.Fprintf(stdout, "pingd: stopped; %d datagrams, %d echoed, %d dropped (-loss), %d malformed, %d delayed (%d dropped: delay queue full); %d clients went down, %d came back\n",
		c.Received, c.Echoed, c.Dropped, c.Malformed, c.Delayed, c.Overflow, peers.down.Load(), peers.back.Load())
	if err != nil && !errors.As(err, &run.SignalError{}) && ctx.Err() == nil {
		return cmd.Failf("%v", err)
	}
	return cli.ExitOK
}

// serverLog shows the heartbeat reports (info level) even without -v.
func serverLog(cmd *cli.Command, stderr io.Writer) *slog.Logger {
	if cmd.Verbose {
		return cmd.Logger()
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("cmd", "pingd")
}

// randomSeed picks a seed when -seed is not given; pingd prints it so the
// run can be repeated.
func randomSeed() uint64 {
	var b [8]byte
	crand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) >> 1
}

// peerCounter is a bus subscriber counting heartbeat clients going down and
// coming back.
type peerCounter struct {
	msgs       <-chan *message.Message
	down, back atomic.Uint64
}

func newPeerCounter(b *bus.Bus) (*peerCounter, error) {
	msgs, err := b.Subscribe(context.Background(), bus.TopicPacket)
	if err != nil {
		return nil, err
	}
	return &peerCounter{msgs: msgs}, nil
}

// run counts until the bus closes the subscription.
func (p *peerCounter) run() error {
	for msg := range p.msgs {
		e, err := bus.Decode(msg)
		msg.Ack()
		if err != nil {
			continue
		}
		switch e.(type) {
		case bus.PeerDown:
			p.down.Add(1)
		case bus.PeerBack:
			p.back.Add(1)
		}
	}
	return nil
}
