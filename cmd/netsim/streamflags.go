package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
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

// scenario reads the flags into the experiment proto over segments of
// 1200 bytes; an error is a usage error.
func (f *streamFlags) scenario(proto string) (scenario, error) {
	faults, err := f.faults()
	if err != nil {
		return scenario{}, err
	}
	a, err := rdt.ParseARQ(*f.arq)
	if err != nil {
		return scenario{}, err
	}
	return scenario{Proto: proto, Seed: *f.seed, Faults: faults, ARQ: a, Window: *f.window, MSS: 1200,
		Bytes: *f.size, MinRTO: *f.minRTO, Timeout: *f.timeout}, nil
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
