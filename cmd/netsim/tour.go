package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"netstages/actors"
	"netstages/actors/bus"
	"netstages/cmd/internal/cli"
	"netstages/protocols/echo"
	"netstages/sim"
	"netstages/sim/rdt"
	"netstages/transport"
	"netstages/transport/mem"
)

// tour is one run of the tour: the network every stop shares, the event
// bus, and where to report.
type tour struct {
	net    transport.Network // transport/mem, or a sim world (-net sim)
	events *bus.Bus
	out    io.Writer
	graph  string // "mermaid", "dot" or "none"
	failed []string
}

// stop is one protocol's part of the tour. Every protocol adds one.
type stop struct {
	name string
	run  func(ctx context.Context, t *tour) error
}

func stops() []stop {
	return []stop{
		{name: "echo", run: echoStop},
		{name: "httpd", run: httpdStop},
		{name: "ping", run: pingStop},
		{name: "smtp", run: smtpStop},
		{name: "sim", run: simStop},
		{name: "proxy", run: proxyStop},
	}
}

func runTour(args []string, stdout, stderr io.Writer) int {
	cmd := cli.New("netsim tour", "[-net sim|mem] [-sim-loss P] [-graph mermaid|dot|none] [-json] [-trace FILE.mmd] [-pcap FILE.pcap] [-bus mem|nats://HOST:PORT] [-v]",
		"Runs every netstages protocol over a simulated lossy network (by default), checks each\nresult, and prints what happened with each pipeline's stage graph and counts.", stderr)
	graph := cmd.Flags.String("graph", "mermaid", "how to print each pipeline's graph: mermaid, dot or none")
	asJSON := cmd.Flags.Bool("json", false, "print the final summary as JSON")
	netKind := cmd.Flags.String("net", "sim", "network for the stops: sim (simulated links, 1 ms, lossy, reliable streams by sim/rdt) or mem (transport/mem: perfect pipes)")
	simLoss := cmd.Flags.Float64("sim-loss", 0.05, "with -net sim: loss probability of every link, each way (datagram stops see it too)")
	busFlags := cmd.BusFlags()
	out := addCaptureFlags(cmd.Flags)
	if code, done := cmd.Parse(args); done {
		return code
	}
	if err := busFlags.Check(); err != nil {
		return cmd.Usagef("%v", err)
	}
	switch *graph {
	case "mermaid", "dot", "none":
	default:
		return cmd.Usagef("-graph must be mermaid, dot or none, not %q", *graph)
	}
	if cmd.Flags.NArg() > 0 {
		return cmd.Usagef("unexpected argument %q", cmd.Flags.Arg(0))
	}

	var network transport.Network = mem.NewNetwork(0)
	var w *world
	switch *netKind {
	case "mem":
		if out.keep() {
			return cmd.Usagef("-trace and -pcap need -net sim")
		}
	case "sim":
		if *simLoss < 0 || *simLoss >= 1 {
			return cmd.Usagef("-sim-loss must be in [0,1)")
		}
		w = newWorld(1, sim.Faults{Latency: time.Millisecond, Loss: *simLoss}, rdt.Config{ARQ: rdt.SelectiveRepeat, MinRTO: 20 * time.Millisecond}, out.keep())
		defer w.Close()
		network = w
	default:
		return cmd.Usagef("-net must be mem or sim, not %q", *netKind)
	}
	events, err := busFlags.Open(cmd.Logger())
	if err != nil {
		return cmd.Failf("%v", err)
	}
	t := &tour{net: network, events: events, out: stdout, graph: *graph}
	counter, err := bus.NewConnCounter(t.events, nil)
	if err != nil {
		return cmd.Failf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	busDone := make(chan error, 1)
	go func() { busDone <- t.events.Run(ctx) }()
	countDone := make(chan error, 1)
	go func() { countDone <- counter.Run() }()

	if *netKind == "sim" {
		fmt.Fprintf(stdout, "netsim tour: every protocol over simulated links (1 ms, %g%% loss each way, seed 1; streams by sim/rdt Selective Repeat)\n", *simLoss*100)
	} else {
		fmt.Fprintf(stdout, "netsim tour: every protocol over transport/mem (perfect in-process pipes)\n")
	}
	for _, s := range stops() {
		fmt.Fprintf(stdout, "\n== %s ==\n", s.name)
		if err := s.run(ctx, t); err != nil {
			t.failed = append(t.failed, fmt.Sprintf("%s: %v", s.name, err))
			fmt.Fprintf(stdout, "FAILED: %v\n", err)
		}
	}
	t.events.Close()
	<-busDone
	<-countDone
	if w != nil && out.keep() {
		// The stops over the shared world's links; the sim stop's transfer
		// and httpd runs have networks of their own ('netsim transfer' and
		// 'netsim http' capture those).
		if err := out.write(w.net.Start(), w.records()); err != nil {
			return cmd.Failf("%v", err)
		}
	}
	return t.summary(counter.Counts(), *asJSON)
}

func (t *tour) summary(conns bus.ConnCounts, asJSON bool) int {
	stats := t.events.Stats()
	if asJSON {
		json.NewEncoder(t.out).Encode(map[string]any{"connections": conns, "bus": stats, "failed": t.failed})
	} else {
		fmt.Fprintf(t.out, "\n== summary ==\nconnections: %d opened, %d closed, %d refused (counted from bus events)\n", conns.Opened, conns.Closed, conns.Refused)
		fmt.Fprintf(t.out, "event bus: %d events published, %d dropped\n", stats.Published, stats.Dropped)
	}
	if len(t.failed) > 0 {
		fmt.Fprintf(t.out, "tour FAILED: %s\n", strings.Join(t.failed, "; "))
		return cli.ExitFail
	}
	fmt.Fprintf(t.out, "tour passed: every result checked\n")
	return cli.ExitOK
}

// showPipeline prints a meter's graph and per-stage counts.
func (t *tour) showPipeline(m *actors.Meter) {
	snap := m.Snapshot()
	switch t.graph {
	case "mermaid":
		fmt.Fprintf(t.out, "pipeline %q (Mermaid):\n%s", snap.Graph.Name, indent(snap.Graph.Mermaid()))
	case "dot":
		fmt.Fprintf(t.out, "pipeline %q (DOT):\n%s", snap.Graph.Name, indent(snap.Graph.DOT()))
	}
	fmt.Fprintf(t.out, "stage counts over %d connections (items are batches):\n", snap.Finished)
	width := 0
	for _, s := range snap.Stages {
		width = max(width, len(s.Name))
	}
	for _, s := range snap.Stages {
		fmt.Fprintf(t.out, "  %-*s in %-4d out %-4d queued %d\n", width, s.Name, s.In, s.Out, s.Queued)
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}

// echoStop serves echo on the mem network and checks three clients: one
// line, a pipelined burst with a last line cut short by half-close, and a
// line over the limit.
func echoStop(ctx context.Context, t *tour) error {
	ln, err := t.net.Listen(ctx, "tcp", "server:7")
	if err != nil {
		return err
	}
	meter := actors.NewMeter()
	srv := &actors.Server{Name: "echod", Handle: echo.Handler(echo.Config{MaxLine: 32}, meter), Bus: t.events}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(t.out, "echod serves echo on %s %s (max line 32 bytes)\n", ln.Addr().Network(), ln.Addr())

	cases := []struct {
		client, send, want string
	}{
		{"alice", "hello, netstages\n", "hello, netstages\n"},
		{"bob", "one\ntwo\r\nthree, then half-close", "one\ntwo\r\nthree, then half-close"},
		{"mallory", strings.Repeat("A", 40) + "\n", "error: line longer than 32 bytes\n"},
	}
	var failure error
	for _, c := range cases {
		got, rtt, err := echoExchange(ctx, t.net, ln.Addr().String(), c.send)
		status := "ok"
		if err != nil || got != c.want {
			status = "MISMATCH"
			failure = fmt.Errorf("%s: sent %q, want %q, got %q (err %v)", c.client, c.send, c.want, got, err)
		}
		fmt.Fprintf(t.out, "%-8s sent %-48q got %-40q %s (%v)\n", c.client, c.send, got, status, rtt.Round(time.Microsecond))
	}
	srv.Shutdown()
	if err := <-served; err != nil {
		return err
	}
	t.showPipeline(meter)
	return failure
}

// echoExchange dials, sends, half-closes and reads everything back.
func echoExchange(ctx context.Context, n transport.Network, addr, send string) (string, time.Duration, error) {
	start := time.Now()
	c, err := n.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, send); err != nil {
		return "", 0, err
	}
	c.(transport.CloseWriter).CloseWrite()
	got, err := io.ReadAll(bufio.NewReader(c))
	return string(got), time.Since(start), err
}

// linkDrops reports how many packets the simulated link between hosts a and
// b dropped each way, and whether the tour runs over lossy simulated links
// at all (false over transport/mem or lossless links: then nothing is lost
// on the way and stops can check exact outcomes).
func (t *tour) linkDrops(a, b string) (aToB, bToA uint64, lossy bool) {
	w, ok := t.net.(*world)
	if !ok || w.linkFaults(a, b).Loss == 0 {
		return 0, 0, false
	}
	for _, l := range w.net.Links() {
		if (l.A == a && l.B == b) || (l.A == b && l.B == a) {
			return sumDrops(l.Stats(a).Dropped), sumDrops(l.Stats(b).Dropped), true
		}
	}
	return 0, 0, true
}

func sumDrops(byCause map[string]uint64) uint64 {
	var n uint64
	for _, c := range byCause {
		n += c
	}
	return n
}
