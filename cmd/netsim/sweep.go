package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"netstages/cmd/internal/cli"
	"netstages/sim/rdt"
)

// runSweep repeats one experiment over a range of loss rates and ARQ
// schemes and writes one CSV row per run.
func runSweep(args []string, stdout, stderr io.Writer) int {
	cmd := cli.New("netsim sweep", "[-proto transfer|echo|http] [-loss FROM:TO:STEP] [-arq saw,gbn,sr] [-out FILE.csv] [-plot FILE.svg] [link flags | -scenario FILE.toml]",
		"Runs the transfer, echo or http experiment once per loss rate and ARQ scheme, on\nthe wall clock, and writes one CSV row per run (- for stdout). Other link flags as\nfor 'netsim transfer'; or -scenario gives the experiment swept, -loss and -arq its axes.", stderr)
	faults := linkFlags(cmd.Flags)
	proto := cmd.Flags.String("proto", "transfer", "experiment: transfer, echo or http (2 GETs of a -bytes file through httpd)")
	lossRange := lossRangeFlag(cmd.Flags)
	arqs := cmd.Flags.String("arq", "saw,gbn,sr", "comma-separated ARQ schemes")
	window := cmd.Flags.Int("window", 32, "packets in flight (gbn, sr)")
	size := cmd.Flags.Int("bytes", 64<<10, "bytes per run")
	seed := cmd.Flags.Uint64("seed", 1, "seed of every fault's PRNG")
	out := cmd.Flags.String("out", "-", "CSV file to write, - for stdout")
	plotFile := cmd.Flags.String("plot", "", "also draw goodput against loss, one line per scheme, to this file (.svg, .png or .pdf)")
	timeout := cmd.Flags.Duration("timeout", 2*time.Minute, "give up on one run after this long")
	minRTO := cmd.Flags.Duration("min-rto", 200*time.Millisecond, "smallest retransmission timeout")
	scenarioFile := cmd.Flags.String("scenario", "", "read the experiment swept (proto, link faults, window, bytes, seed, timeout) from this TOML file; -loss and -arq still give the axes")
	if code, done := cmd.Parse(args); done {
		return code
	}
	losses := lossRange.values
	var schemes []rdt.ARQ
	for _, s := range strings.Split(*arqs, ",") {
		a, err := rdt.ParseARQ(strings.TrimSpace(s))
		if err != nil {
			return cmd.Usagef("%v", err)
		}
		schemes = append(schemes, a)
	}
	var base scenario
	if *scenarioFile != "" {
		var err error
		if isSet(cmd.Flags, "proto") {
			return cmd.Usagef("-scenario names the proto; drop -proto")
		}
		if base, err = loadScenario(*scenarioFile, "", cmd.Flags, "loss", "arq"); err != nil {
			return cmd.Usagef("%v", err)
		}
	} else {
		f, err := faults()
		if err != nil {
			return cmd.Usagef("%v", err)
		}
		base = scenario{Proto: *proto, Seed: *seed, Faults: f, Window: *window, MSS: 1200, Bytes: *size, MinRTO: *minRTO, Timeout: *timeout}
	}
	if base.Proto != "transfer" && base.Proto != "echo" && base.Proto != "http" {
		return cmd.Usagef("-proto must be transfer, echo or http, not %q", base.Proto)
	}
	point := func(a rdt.ARQ, loss float64) scenario {
		sc := base
		sc.ARQ, sc.Faults.Loss = a, loss
		return sc
	}
	for _, a := range schemes {
		for _, loss := range losses {
			if err := point(a, loss).check(); err != nil {
				return cmd.Usagef("%v", err)
			}
		}
	}
	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return cmd.Failf("%v", err)
		}
		defer f.Close()
		w = f
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"proto", "arq", "loss", "seed", "bytes", "ok", "completion_s", "goodput_bps", "retransmits", "timeouts", "packets_sent", "packets_dropped", "error"})
	total, done := len(losses)*len(schemes), 0
	curves := make(map[rdt.ARQ]plotter.XYs)
	failed := 0
	for _, a := range schemes {
		for _, loss := range losses {
			rep := sweepPoint(point(a, loss))
			why := rep.Error
			if !rep.OK {
				failed++
				if why == "" {
					why = "check failed: " + rep.Check
				}
				fmt.Fprintf(stderr, "\nrun %d (%s, loss %g) failed: %s\n", done+1, a, loss, why)
			}
			var sent, dropped uint64
			for _, l := range rep.Links {
				sent += l.Sent
				dropped += l.DroppedTotal()
			}
			cw.Write([]string{base.Proto, string(a), strconv.FormatFloat(loss, 'g', -1, 64), strconv.FormatUint(base.Seed, 10), strconv.Itoa(base.Bytes),
				strconv.FormatBool(rep.OK), strconv.FormatFloat(rep.Completion.Seconds(), 'f', 4, 64), strconv.FormatFloat(rep.Goodput, 'f', 0, 64),
				strconv.FormatUint(rep.Client.Retransmits, 10), strconv.FormatUint(rep.Client.Timeouts, 10),
				strconv.FormatUint(sent, 10), strconv.FormatUint(dropped, 10), why})
			cw.Flush()
			curves[a] = append(curves[a], plotter.XY{X: loss, Y: rep.Goodput / 1e6})
			done++
			bar := strings.Repeat("#", done*30/total) + strings.Repeat(".", 30-done*30/total)
			fmt.Fprintf(stderr, "\r[%s] %d/%d %s loss %.3f: %.0f kbit/s   ", bar, done, total, a, loss, rep.Goodput/1e3)
		}
	}
	fmt.Fprintln(stderr)
	if err := cw.Error(); err != nil {
		return cmd.Failf("%v", err)
	}
	if *plotFile != "" {
		if err := drawSweep(*plotFile, base.Proto, schemes, curves); err != nil {
			return cmd.Failf("plot: %v", err)
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "netsim sweep: %d of %d runs failed their check\n", failed, total)
		return cli.ExitFail
	}
	return cli.ExitOK
}

// sweepPoint runs one point of a sweep. An http point is summed into a
// report's shape: the retransmits and timeouts of both ends' connections
// added (the responses are the server's to resend).
func sweepPoint(sc scenario) report {
	if sc.Proto != "http" {
		return run(sc, false)
	}
	rep := report{Scenario: sc}
	dir, err := os.MkdirTemp("", "netsim-sweep-")
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), sc.Timeout)
	defer cancel()
	h := httpOverSim(ctx, sc, dir)
	rep.OK, rep.Check, rep.Error, rep.Completion, rep.Goodput, rep.Links = h.OK, h.Check, h.Error, h.Completion, h.Goodput, h.Links
	for _, c := range append(h.Client, h.Server...) { // the responses are the server's to resend
		rep.Client.Retransmits += c.Retransmits
		rep.Client.Timeouts += c.Timeouts
	}
	return rep
}

// lossRangeFlag turns the link flags' -loss into FROM:TO:STEP for a sweep
// (a single value is a range of one), keeping its place among them.
func lossRangeFlag(fs *flag.FlagSet) *rangeValue {
	v := &rangeValue{}
	_ = v.Set("0:0.2:0.05") // a constant that parses
	f := fs.Lookup("loss")
	f.Value, f.DefValue, f.Usage = v, v.s, "loss rates FROM:TO:STEP (Bernoulli, each way), or one value"
	return v
}

// rangeValue is a flag holding FROM:TO:STEP and the values it stands for,
// parsed when set.
type rangeValue struct {
	s      string
	values []float64
}

func (r *rangeValue) String() string { return r.s }

// Set parses and keeps a range.
func (r *rangeValue) Set(s string) error {
	values, err := parseRange(s)
	if err != nil {
		return err
	}
	r.s, r.values = s, values
	return nil
}

// parseRange reads FROM:TO:STEP into the values FROM, FROM+STEP, … ≤ TO.
func parseRange(s string) ([]float64, error) {
	parts := strings.Split(s, ":")
	if len(parts) == 1 {
		v, err := strconv.ParseFloat(parts[0], 64)
		return []float64{v}, err
	}
	if len(parts) != 3 {
		return nil, fmt.Errorf("range %q is not FROM:TO:STEP", s)
	}
	var v [3]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, fmt.Errorf("range %q: %v", s, err)
		}
		v[i] = f
	}
	if v[2] <= 0 || v[1] < v[0] || (v[1]-v[0])/v[2] > 1000 {
		return nil, fmt.Errorf("range %q: need FROM ≤ TO and a STEP > 0 giving at most 1000 values", s)
	}
	var out []float64
	for i := 0; ; i++ {
		x := v[0] + float64(i)*v[2]
		if x > v[1]+v[2]/1e6 {
			return out, nil
		}
		out = append(out, min(x, v[1]))
	}
}

// drawSweep plots goodput against loss rate, one line per scheme.
func drawSweep(path, proto string, schemes []rdt.ARQ, curves map[rdt.ARQ]plotter.XYs) error {
	p := plot.New()
	p.Title.Text = "netsim sweep: " + proto + " goodput vs loss"
	p.X.Label.Text = "loss probability (each way)"
	p.Y.Label.Text = "goodput (Mbit/s)"
	var lines []any
	for _, a := range schemes {
		lines = append(lines, string(a), curves[a])
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return err
	}
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}

// isSet says whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
