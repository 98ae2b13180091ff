package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"netstages/cmd/internal/cli"
	"netstages/protocols/ping"
	"netstages/sim"
)

// pingReport is what `netsim ping` found.
type pingReport struct {
	Seed    uint64         `json:"seed"`
	Faults  sim.Faults     `json:"faults"`
	Ping    ping.Summary   `json:"ping"`
	Links   []sim.DirStats `json:"links"`
	OK      bool           `json:"ok"`
	Check   string         `json:"check"`
	Error   string         `json:"error,omitempty"`
	records []sim.Record   // when asked to keep them
	start   time.Time      // the network's start, for pcap timestamps
}

// runPing pings pingd (protocols/ping, unchanged) across one simulated link.
func runPing(args []string, stdout, stderr io.Writer) int {
	cmd := cli.New("netsim ping", "[-c N] [-i D] [-W D] [-loss P] [-latency D] [-jitter D] [-dup P] [-reorder P] [-rate R] [-seed N] [-scenario FILE.toml] [-json] [-trace FILE.mmd] [-pcap FILE.pcap]",
		"Serves pingd (protocols/ping, without its own loss) on host \"server\" and pings it\nfrom host \"laptop\" across one simulated link with the faults given (both ways);\nchecks that every probe is accounted for and that each reply the link delivered was\ncounted.", stderr)
	faults := linkFlags(cmd.Flags)
	count := cmd.Flags.Int("c", 20, "probes to send")
	interval := cmd.Flags.Duration("i", 10*time.Millisecond, "interval between probes")
	timeout := cmd.Flags.Duration("W", time.Second, "how long to wait for each reply")
	seed := cmd.Flags.Uint64("seed", 1, "seed of every fault's PRNG")
	asJSON := cmd.Flags.Bool("json", false, "print the report as JSON")
	out := addCaptureFlags(cmd.Flags)
	scenarioFile := cmd.Flags.String("scenario", "", "read the whole experiment (seed, count, interval, wait, link faults) from this TOML file instead of the flags")
	if code, done := cmd.Parse(args); done {
		return code
	}
	if cmd.Flags.NArg() > 0 {
		return cmd.Usagef("unexpected argument %q", cmd.Flags.Arg(0))
	}
	var ps pingScenario
	if *scenarioFile != "" {
		var err error
		if ps, err = loadPingScenario(*scenarioFile, cmd.Flags); err != nil {
			return cmd.Usagef("%v", err)
		}
	} else {
		f, err := faults()
		if err != nil {
			return cmd.Usagef("%v", err)
		}
		ps = pingScenario{Proto: "ping", Seed: *seed, Count: *count, Interval: *interval, Wait: *timeout, Faults: f}
		if err := ps.check(); err != nil {
			return cmd.Usagef("%v", err)
		}
	}
	f := ps.Faults
	var lines io.Writer = stdout
	if *asJSON {
		lines = io.Discard
	}
	rep := pingOverSim(context.Background(), ps.Seed, f, ps.Count, ps.Interval, ps.Wait, lines, out.keep())
	if err := out.write(rep.start, rep.records); err != nil {
		return cmd.Failf("%v", err)
	}
	if *asJSON {
		writeJSON(stdout, rep)
	} else {
		ping.WriteSummary(stdout, rep.Ping)
		fmt.Fprintf(stdout, "link faults (each way): %s\n", describe(f))
		printLinks(stdout, rep.Links)
		fmt.Fprintf(stdout, "check: %s\n", rep.Check)
	}
	return exitCode(rep.OK)
}

// pingOverSim runs one ping session over a fresh sim network; with keep,
// the report holds every packet's record for -trace and -pcap.
func pingOverSim(ctx context.Context, seed uint64, f sim.Faults, count int, interval, timeout time.Duration, out io.Writer, keep bool) pingReport {
	rep := pingReport{Seed: seed, Faults: f}
	nw := sim.New(sim.Config{Seed: seed, Trace: keep, KeepPayloads: keep})
	rep.start = nw.Start()
	defer nw.Close()
	link, err := nw.Connect("laptop", "server", f, f)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	spc, err := nw.Host("server").Bind("udp", "server:12000")
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	srv, err := ping.NewServer(spc, ping.ServerConfig{}, nil)
	if err != nil {
		spc.Close()
		rep.Error = err.Error()
		return rep
	}
	served := make(chan error, 1)
	go func() { served <- srv.Run(ctx) }()
	defer func() { srv.Stop(); <-served }()
	cpc, err := nw.Host("laptop").Bind("udp", "laptop:40000")
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	client, err := ping.NewClient(ping.Unconnected(cpc, spc.Addr()),
		ping.ClientConfig{Count: count, Interval: interval, Timeout: timeout}, ping.TextPrinter(out, false), nil)
	if err != nil {
		cpc.Close()
		rep.Error = err.Error()
		return rep
	}
	if err := client.Run(ctx); err != nil {
		rep.Error = err.Error()
	}
	rep.Ping = client.Summary()
	rep.Links = []sim.DirStats{link.Stats("laptop"), link.Stats("server")}
	if keep {
		rep.records = append(link.Records("laptop"), link.Records("server")...)
	}
	replies := rep.Links[1].Delivered
	s := rep.Ping
	accounted := s.Received + s.Late + s.Lost
	rep.OK = rep.Error == "" && s.Transmitted == uint64(count) && accounted == s.Transmitted &&
		s.Received+s.Late+s.Duplicates == replies
	rep.Check = fmt.Sprintf("%d probes: %d received + %d late + %d lost; the link delivered %d replies, ping counted %d (with %d duplicates)",
		s.Transmitted, s.Received, s.Late, s.Lost, replies, s.Received+s.Late+s.Duplicates, s.Duplicates)
	return rep
}
