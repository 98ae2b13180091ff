package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"netstages/cmd/internal/cli"
	"netstages/sim"
	"netstages/sim/rdt"
)

// streamFlags are the flags the experiments over a sim/rdt stream share
// (netsim transfer, echo, http, smtp): the link's faults, the transport,
// the workload's size and seed, the time limit and -json.
type streamFlags struct {
	faults  func() (sim.Faults, error)
	arq     *string
	window  *int
	size    *int
	seed    *uint64
	minRTO  *time.Duration
	timeout *time.Duration
	asJSON  *bool
}

// addStreamFlags registers the shared flags on fs; -bytes defaults to
// defBytes and is described by bytesUsage, -seed by seedUsage.
func addStreamFlags(fs *flag.FlagSet, defBytes int, bytesUsage, seedUsage string) *streamFlags {
	return &streamFlags{
		faults:  linkFlags(fs),
		arq:     fs.String("arq", "sr", "reliable transport: saw, gbn, sr or perfect"),
		window:  fs.Int("window", 32, "packets in flight (gbn, sr, perfect)"),
		size:    fs.Int("bytes", defBytes, bytesUsage),
		seed:    fs.Uint64("seed", 1, seedUsage),
		minRTO:  fs.Duration("min-rto", 200*time.Millisecond, "smallest retransmission timeout"),
		timeout: fs.Duration("timeout", 5*time.Minute, "give up after this long (wall clock)"),
		asJSON:  fs.Bool("json", false, "print the report as JSON"),
	}
}

// outputFlags are -trace, -trace-n, -pcap and -scenario: what every
// experiment over a stream can also write, or read its settings from.
type outputFlags struct {
	trace, pcap, scenario *string
	traceN                *int
}

// addOutputFlags registers them on fs.
func addOutputFlags(fs *flag.FlagSet) *outputFlags {
	o := addCaptureFlags(fs)
	o.scenario = fs.String("scenario", "", "read the whole experiment (link faults, transport, workload) from this TOML file instead of the flags")
	return o
}

// addCaptureFlags registers -trace, -trace-n and -pcap only.
func addCaptureFlags(fs *flag.FlagSet) *outputFlags {
	none := ""
	return &outputFlags{
		scenario: &none,
		trace:    fs.String("trace", "", "write a Mermaid sequence diagram of the first packets to this file"),
		traceN:   fs.Int("trace-n", 60, "how many packets the -trace diagram shows"),
		pcap:     fs.String("pcap", "", "write every packet on the link to this pcap file (IPv4/UDP synthesized), drops to FILE.drops.txt"),
	}
}

// keep says whether the run must record every packet with its payload.
func (o *outputFlags) keep() bool { return *o.trace != "" || *o.pcap != "" }

// write writes the trace and the capture asked for, from a run's records.
func (o *outputFlags) write(start time.Time, recs []sim.Record) error {
	if *o.trace != "" {
		if err := writeTrace(*o.trace, recs, *o.traceN); err != nil {
			return err
		}
	}
	if *o.pcap != "" {
		return writePcap(*o.pcap, start, recs)
	}
	return nil
}

// load reads the scenario from -scenario if given, else from the flags
// (segments of mss bytes); an error is a usage error.
func (o *outputFlags) load(fs *flag.FlagSet, fl *streamFlags, proto string, mss int) (scenario, error) {
	if *o.scenario != "" {
		return loadScenario(*o.scenario, proto, fs)
	}
	return fl.scenario(proto, mss)
}

// scenario reads the flags into the experiment proto over segments of mss
// bytes; an error is a usage error.
func (f *streamFlags) scenario(proto string, mss int) (scenario, error) {
	faults, err := f.faults()
	if err != nil {
		return scenario{}, err
	}
	a, err := rdt.ParseARQ(*f.arq)
	if err != nil {
		return scenario{}, err
	}
	sc := scenario{Proto: proto, Seed: *f.seed, Faults: faults, ARQ: a, Window: *f.window, MSS: mss,
		Bytes: *f.size, MinRTO: *f.minRTO, Timeout: *f.timeout}
	return sc, sc.check()
}

// check rejects a scenario that could only stall until its time limit:
// segments the link's MTU drops every time, or the perfect stream (which
// never resends) over a link that loses, corrupts or reorders packets.
func (sc scenario) check() error {
	f := sc.Faults
	if err := f.Validate(); err != nil {
		return err
	}
	switch {
	case sc.Window > 1<<16:
		return fmt.Errorf("-window %d is over 65536 packets", sc.Window)
	case sc.Timeout <= 0:
		return errors.New("-timeout must be positive")
	}
	if f.MTU > 0 && sc.MSS+rdt.HeaderLen > f.MTU {
		return fmt.Errorf("segments of %d bytes (MSS %d + %d of header) are over the link's MTU %d: every one would be dropped",
			sc.MSS+rdt.HeaderLen, sc.MSS, rdt.HeaderLen, f.MTU)
	}
	if sc.ARQ != rdt.Perfect {
		return nil
	}
	var bad []string
	add := func(cond bool, what string) {
		if cond {
			bad = append(bad, what)
		}
	}
	add(f.Loss > 0, "loss")
	add(f.Burst != nil, "burst")
	add(f.Corrupt > 0, "corrupt")
	add(f.Reorder > 0, "reorder")
	add(f.Jitter > 0, "jitter")
	add(len(f.Down) > 0, "down")
	add(len(f.DropPackets) > 0, "drop_packets")
	queue := f.Queue
	if queue <= 0 {
		queue = 64 // the sim's default
	}
	add(f.Rate > 0 && queue < sc.Window, "a rate queue shorter than the window (tail drop)")
	if len(bad) > 0 {
		return fmt.Errorf("-arq perfect never resends, so it needs a link that neither loses nor reorders packets; drop %s or use saw, gbn or sr",
			strings.Join(bad, ", "))
	}
	return nil
}

// linger is how long a finished experiment waits for its connections’
// teardown before it closes the network under them. A peer still resending
// its FIN to an end that has gone (whose last ACK or RST was lost, and
// whose TIME-WAIT of four of its own RTOs was over before the peer's
// backed-off retry came) would back off for minutes, and its stats change
// no result: the data were checked already.
const linger = 3 * time.Second

// endStacks waits up to wait for every connection and listener of the
// stacks to end, then closes the network, which ends the rest, and waits
// for them (within ctx). The experiment's ctx is left for what follows.
func endStacks(ctx context.Context, nw *sim.Network, wait time.Duration, stacks ...*rdt.Stack) {
	lctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for _, s := range stacks {
		if s.Wait(lctx) != nil {
			nw.Close()
			break
		}
	}
	for _, s := range stacks {
		s.Wait(ctx)
	}
}

// gaveUp prefixes msg with why the run ended when its time limit did.
func gaveUp(ctx context.Context, timeout time.Duration, msg string) string {
	if ctx.Err() == nil {
		return msg
	}
	return fmt.Sprintf("gave up after -timeout %v: %s", timeout, msg)
}

// writeJSON prints a report as indented JSON.
func writeJSON(w io.Writer, report any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(report)
}

// exitCode is the exit status of a run whose checks passed or not.
func exitCode(ok bool) int {
	if ok {
		return cli.ExitOK
	}
	return cli.ExitFail
}
