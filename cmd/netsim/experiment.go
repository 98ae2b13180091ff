package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	"netstages/actors"
	"netstages/cmd/internal/cli"
	"netstages/protocols/echo"
	"netstages/sim"
	"netstages/sim/rdt"
	"netstages/transport"
)

// scenario is one experiment's settings: the link's faults (both ways),
// the transport, and the workload.
type scenario struct {
	Proto   string        `json:"proto" toml:"proto"` // "transfer" or "echo"
	Seed    uint64        `json:"seed" toml:"seed"`
	Faults  sim.Faults    `json:"faults" toml:"faults"`
	ARQ     rdt.ARQ       `json:"arq" toml:"arq"`
	Window  int           `json:"window" toml:"window"`
	MSS     int           `json:"mss" toml:"mss"`
	Bytes   int           `json:"bytes" toml:"bytes"`
	MinRTO  time.Duration `json:"min_rto,omitempty" toml:"min_rto"`
	Timeout time.Duration `json:"-" toml:"timeout"`
	// Settle makes the run reproducible to the byte under testing/synctest
	// (see sim.Config.Settle); the CLI, on the wall clock, leaves it off.
	Settle bool `json:"-" toml:"-"`
	// Keep records every packet with its payload, for -trace and -pcap.
	Keep bool `json:"-" toml:"-"`
}

// linkFlags registers the fault flags on fs and returns a function that
// reads them into a Faults.
func linkFlags(fs *flag.FlagSet) func() (sim.Faults, error) {
	latency := fs.Duration("latency", 10*time.Millisecond, "one-way latency")
	jitter := fs.Duration("jitter", 0, "uniform jitter ± this")
	loss := fs.Float64("loss", 0, "Bernoulli loss probability")
	burst := fs.String("burst", "", "Gilbert-Elliott loss as p,r,h,k (netem's names), e.g. 0.01,0.3,0.2,1")
	dup := fs.Float64("dup", 0, "duplication probability")
	reorder := fs.Float64("reorder", 0, "probability a packet is held back (reordered)")
	corrupt := fs.Float64("corrupt", 0, "probability of a flipped bit")
	rate := fs.String("rate", "", "bandwidth in bit/s, with k, M or G (e.g. 10M); empty for unlimited")
	queue := fs.Int("queue", 64, "packets queued for the wire when -rate is set (tail drop beyond)")
	mtu := fs.Int("mtu", 1500, "largest datagram payload; 0 for no limit")
	return func() (sim.Faults, error) {
		f := sim.Faults{Latency: *latency, Jitter: *jitter, Loss: *loss, Duplicate: *dup, Reorder: *reorder,
			Corrupt: *corrupt, Queue: *queue, MTU: *mtu}
		if *burst != "" {
			var ge sim.GilbertElliott
			if _, err := fmt.Sscanf(*burst, "%g,%g,%g,%g", &ge.P, &ge.R, &ge.H, &ge.K); err != nil {
				return f, fmt.Errorf("-burst wants p,r,h,k: %v", err)
			}
			f.Burst = &ge
		}
		if *rate != "" {
			r, err := parseRate(*rate)
			if err != nil {
				return f, err
			}
			f.Rate = r
		}
		return f, nil
	}
}

// parseRate reads "10M", "512k", "1G" or plain bits per second.
func parseRate(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1e3, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1e9, strings.TrimSuffix(s, "G")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("bad -rate %q", s)
	}
	return int64(v * float64(mult)), nil
}

// report is what one experiment found.
type report struct {
	Scenario   scenario       `json:"scenario"`
	OK         bool           `json:"ok"`
	Check      string         `json:"check"`
	Completion time.Duration  `json:"completion"`
	Goodput    float64        `json:"goodput_bps"` // payload bits per second, client to server
	Links      []sim.DirStats `json:"links"`
	Client     rdt.Stats      `json:"client"`
	Server     rdt.Stats      `json:"server"`
	Error      string         `json:"error,omitempty"`
	records    []sim.Record
	start      time.Time      // the network's start, for pcap timestamps
	graphs     []actors.Graph // the client→server link and the client's sender and receiver
}

func runExperiment(proto string, args []string, stdout, stderr io.Writer) int {
	cmd := cli.New("netsim "+proto, "[-loss P] [-latency D] [-jitter D] [-dup P] [-reorder P] [-corrupt P] [-rate R] [-arq saw|gbn|sr|perfect] [-window N] [-seed N] [-json] [-trace FILE.mmd] [-pcap FILE.pcap] [-scenario FILE.toml]",
		experimentAbout(proto), stderr)
	fl := addStreamFlags(cmd.Flags, 1<<20, "bytes to send (transfer) or about that many in lines (echo)", "seed of every fault's PRNG")
	mss := cmd.Flags.Int("mss", 1200, "largest payload per segment")
	out := addOutputFlags(cmd.Flags)
	if code, done := cmd.Parse(args); done {
		return code
	}
	if cmd.Flags.NArg() > 0 {
		return cmd.Usagef("unexpected argument %q", cmd.Flags.Arg(0))
	}
	sc, err := out.load(cmd.Flags, fl, proto, *mss)
	if err != nil {
		return cmd.Usagef("%v", err)
	}
	if sc.Bytes <= 0 {
		return cmd.Usagef("-bytes must be positive")
	}
	rep := run(sc, out.keep())
	if err := out.write(rep.start, rep.records); err != nil {
		return cmd.Failf("%v", err)
	}
	if *fl.asJSON {
		writeJSON(stdout, rep)
	} else {
		rep.print(stdout)
	}
	return exitCode(rep.OK)
}

func experimentAbout(proto string) string {
	if proto == "echo" {
		return "Serves protocols/echo, unchanged, on host \"server\" over a reliable stream (sim/rdt)\nacross one simulated link with the faults given (both directions), sends lines from\nhost \"client\", and checks every byte comes back, in order, once."
	}
	return "Sends -bytes random bytes from host \"client\" to host \"server\" over a reliable\nstream (sim/rdt) across one simulated link with the faults given (both directions);\nthe server answers with the SHA-256 of what it read, which the client checks."
}

// run performs one experiment on the wall clock; see ARCHITECTURE.md (sim)
// for why the CLI does not run on virtual time.
func run(sc scenario, keep bool) report {
	rep := report{Scenario: sc}
	nw := sim.New(sim.Config{Seed: sc.Seed, Trace: keep, KeepPayloads: keep, Settle: sc.Settle})
	rep.start = nw.Start()
	defer nw.Close()
	link, err := nw.Connect("client", "server", sc.Faults, sc.Faults)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	cfg := rdt.Config{ARQ: sc.ARQ, Window: sc.Window, MSS: sc.MSS, MinRTO: sc.MinRTO, Settle: sc.Settle}
	serverStats := make(chan rdt.Stats, 1)
	scfg := cfg
	scfg.OnDone = func(st rdt.Stats) { serverStats <- st }
	client, err := rdt.New(nw.Host("client"), cfg)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	server, _ := rdt.New(nw.Host("server"), scfg)
	ctx, cancel := context.WithTimeout(context.Background(), sc.Timeout)
	defer cancel()
	var o outcome
	switch sc.Proto {
	case "echo":
		o = echoRun(ctx, client, server, sc.Bytes)
	default:
		o = transferRun(ctx, client, server, sc.Bytes, sc.Seed)
	}
	conn := o.conn
	rep.OK, rep.Check, rep.Completion = o.ok, o.check, o.took
	if o.err != nil {
		rep.Error = gaveUp(ctx, sc.Timeout, o.err.Error())
	}
	if conn != nil {
		conn.Close()
		client.Wait(ctx)
		rep.Client = conn.(*rdt.Conn).Stats()
		rep.graphs = []actors.Graph{link.Graph("client"), conn.(*rdt.Conn).SendGraph(), conn.(*rdt.Conn).RecvGraph()}
		// A server still resending to a client that has gone (its last
		// ACK lost) is given the linger, then the network closes under it.
		endStacks(ctx, nw, linger, server)
		rep.Server = <-serverStats
	}
	if rep.OK { // a run that failed delivered nothing it can be credited for
		rep.Goodput = float64(sc.Bytes*8) / rep.Completion.Seconds()
	}
	rep.Links = []sim.DirStats{link.Stats("client"), link.Stats("server")}
	if keep {
		rep.records = append(link.Records("client"), link.Records("server")...)
	}
	return rep
}

// outcome is how one stream experiment went, seen from the client.
type outcome struct {
	conn  net.Conn      // the client's connection, if it opened
	ok    bool          // every check passed
	check string        // what was checked, for the report
	took  time.Duration // from the dial to the client's last byte, without the servers' teardown
	err   error
}

// transferRun sends size seeded random bytes and checks the server's hash.
func transferRun(ctx context.Context, client, server *rdt.Stack, size int, seed uint64) outcome {
	ln, err := server.Listen(ctx, "tcp", "server:9")
	if err != nil {
		return outcome{err: err}
	}
	go func() {
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		h := sha256.New()
		io.Copy(h, c)
		io.WriteString(c, hex.EncodeToString(h.Sum(nil)))
	}()
	start := time.Now()
	c, err := client.DialContext(ctx, "tcp", "server:9")
	if err != nil {
		return outcome{took: time.Since(start), err: err}
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, 0))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	want := sha256.Sum256(data)
	if _, err := c.Write(data); err != nil {
		return outcome{conn: c, took: time.Since(start), err: err}
	}
	c.(transport.CloseWriter).CloseWrite()
	got, err := io.ReadAll(c)
	ok := string(got) == hex.EncodeToString(want[:])
	return outcome{conn: c, ok: ok, check: fmt.Sprintf("sha256 sent %x… server read %.8s…", want[:4], got), took: time.Since(start), err: err}
}

// echoRun serves protocols/echo and checks the lines come back.
func echoRun(ctx context.Context, client, server *rdt.Stack, size int) outcome {
	ln, err := server.Listen(ctx, "tcp", "server:7")
	if err != nil {
		return outcome{err: err}
	}
	// Its one connection is over once the client has read the echo; a run
	// that gave up waits this long at most for it.
	srv := &actors.Server{Name: "echod", Handle: echo.Handler(echo.Config{}, nil), Grace: time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() { srv.Shutdown(); <-served }()
	start := time.Now()
	c, err := client.DialContext(ctx, "tcp", "server:7")
	if err != nil {
		return outcome{took: time.Since(start), err: err}
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var sent strings.Builder
	for i := 0; sent.Len() < size; i++ {
		fmt.Fprintf(&sent, "line %d: %s\n", i, strings.Repeat("x", i%200))
	}
	go func() {
		io.WriteString(c, sent.String())
		c.(transport.CloseWriter).CloseWrite()
	}()
	got, err := io.ReadAll(bufio.NewReader(c))
	ok := string(got) == sent.String()
	return outcome{conn: c, ok: ok, check: fmt.Sprintf("%d bytes of lines sent, %d echoed, identical: %v", sent.Len(), len(got), ok),
		took: time.Since(start), err: err}
}

func (r report) print(w io.Writer) {
	sc := r.Scenario
	fmt.Fprintf(w, "netsim %s: %d bytes over %s (window %d, MSS %d), seed %d\n", sc.Proto, sc.Bytes, sc.ARQ, sc.Window, sc.MSS, sc.Seed)
	fmt.Fprintf(w, "link faults (each way): %s\n", describe(sc.Faults))
	status := "ok"
	if !r.OK {
		status = "FAILED"
	}
	fmt.Fprintf(w, "result: %s — %s\n", status, r.Check)
	if r.Error != "" {
		fmt.Fprintf(w, "error: %s\n", r.Error)
	}
	fmt.Fprintf(w, "completion %v, goodput %.3f Mbit/s\n", r.Completion.Round(time.Millisecond), r.Goodput/1e6)
	printLinks(w, r.Links)
	printConns(w, []rdt.Stats{r.Client, r.Server})
}

// printLinks prints each direction's counters: sent, delivered, dropped
// (by cause), duplicated, reordered, corrupted and the longest rate queue.
func printLinks(w io.Writer, links []sim.DirStats) {
	fmt.Fprintf(w, "\nlinks:\n")
	for _, l := range links {
		fmt.Fprintf(w, "  %-24s sent %-6d delivered %-6d dropped %-5d %v duplicated %d reordered %d corrupted %d max queue %d\n",
			l.Dir, l.Sent, l.Delivered, l.DroppedTotal(), l.Dropped, l.Duplicated, l.Reordered, l.Corrupted, l.MaxQueue)
	}
}

// printConns prints each connection's counters and the first steps of its
// RTO history.
func printConns(w io.Writer, conns []rdt.Stats) {
	fmt.Fprintf(w, "\nconnections:\n")
	for _, s := range conns {
		fmt.Fprintf(w, "  %-20s segments %-6d data %-6d retransmits %-5d timeouts %-4d corrupt %-4d out-of-order %-4d dups %-4d srtt %v rto %v\n",
			s.Local, s.Segments, s.DataSent, s.Retransmits, s.Timeouts, s.Corrupt, s.OutOfOrder, s.Duplicates, s.SRTT.Round(time.Microsecond), s.RTO)
		if n := len(s.RTOHistory); n > 0 {
			// Steps repeated at one instant (a batch of ACKs for packets
			// sent together) are shown once, with a count.
			var steps []string
			shown := 0
			for i := 0; i < n && len(steps) < 12; {
				h, j := s.RTOHistory[i], i+1
				for j < n && s.RTOHistory[j] == h {
					j++
				}
				kind := "sample " + h.Sample.Round(time.Microsecond).String()
				if h.Sample == 0 {
					kind = "backoff"
				}
				step := fmt.Sprintf("%v→%v (%s)", h.At.Round(time.Millisecond), h.RTO, kind)
				if j-i > 1 {
					step += fmt.Sprintf(" ×%d", j-i)
				}
				steps = append(steps, step)
				i, shown = j, j
			}
			fmt.Fprintf(w, "    RTO history (first %d of %d steps): %s\n", shown, n, strings.Join(steps, ", "))
		}
	}
}

func describe(f sim.Faults) string {
	var parts []string
	add := func(format string, v ...any) { parts = append(parts, fmt.Sprintf(format, v...)) }
	add("latency %v", f.Latency)
	if f.Jitter > 0 {
		add("jitter ±%v", f.Jitter)
	}
	if f.Loss > 0 {
		add("loss %g", f.Loss)
	}
	if f.Burst != nil {
		add("burst %+v", *f.Burst)
	}
	if f.Duplicate > 0 {
		add("dup %g", f.Duplicate)
	}
	if f.Reorder > 0 {
		add("reorder %g", f.Reorder)
	}
	if f.Corrupt > 0 {
		add("corrupt %g", f.Corrupt)
	}
	if f.Rate > 0 {
		q := f.Queue
		if q <= 0 {
			q = 64
		}
		add("rate %d bit/s queue %d", f.Rate, q)
	}
	if f.MTU > 0 {
		add("mtu %d", f.MTU)
	}
	for _, o := range f.Down {
		add("down %v–%v", o.From, o.To)
	}
	return strings.Join(parts, ", ")
}
