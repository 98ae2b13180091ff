package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"netstages/sim"
	"netstages/sim/pcap"
	"netstages/sim/rdt"
)

func TestTourOverSimLinks(t *testing.T) {
	is := is.New(t)
	var stdout, stderr bytes.Buffer
	code := Run([]string{"tour", "-net", "sim", "-sim-loss", "0", "-graph", "none"}, &stdout, &stderr)
	is.Equal(code, 0) // every stop passes over lossless sim links too, with the exact ping check
	is.True(strings.Contains(stdout.String(), "over simulated links (1 ms, 0% loss each way"))
	is.True(strings.Contains(stdout.String(), "pingd's PRNG (seed 1) drops requests"))
	is.True(strings.Contains(stdout.String(), "tour passed"))
	is.Equal(Run([]string{"tour", "-net", "sim", "-sim-loss", "1.5"}, &stdout, &stderr), 2) // a loss that is no probability
}

func TestTransferReportsAndTraces(t *testing.T) {
	is := is.New(t)
	trace := filepath.Join(t.TempDir(), "t.mmd")
	var stdout, stderr bytes.Buffer
	code := Run([]string{"transfer", "-bytes", "32768", "-loss", "0.1", "-latency", "1ms", "-min-rto", "20ms",
		"-arq", "gbn", "-seed", "3", "-json", "-trace", trace, "-trace-n", "200", "-pcap", trace + ".pcap"}, &stdout, &stderr)
	is.Equal(code, 0) // transfer checked out
	var rep report
	is.NoErr(json.Unmarshal(stdout.Bytes(), &rep)) // JSON report
	is.True(rep.OK)
	is.Equal(rep.Scenario.ARQ, rdt.GoBackN)
	is.True(rep.Links[0].Dropped["loss"] > 0) // the link lost packets
	is.True(rep.Client.Retransmits > 0)       // and GBN repaired them
	mmd, err := os.ReadFile(trace)
	is.NoErr(err)                                              // trace written
	is.True(strings.HasPrefix(string(mmd), "sequenceDiagram")) // Mermaid
	is.True(strings.Contains(string(mmd), "client-xserver"))   // a lost packet drawn as lost
	capture, err := os.ReadFile(trace + ".pcap")
	is.NoErr(err)                    // pcap written
	is.True(len(capture) > 24+16*10) // a header and packets
	drops, err := os.ReadFile(trace + ".pcap.drops.txt")
	is.NoErr(err)                                             // drop report written
	is.True(strings.Contains(string(drops), "dropped: loss")) // listing the losses
}

func TestEchoExperimentAndBadFlags(t *testing.T) {
	is := is.New(t)
	var stdout, stderr bytes.Buffer
	code := Run([]string{"echo", "-bytes", "20000", "-loss", "0.05", "-dup", "0.05", "-reorder", "0.05", "-corrupt", "0.05", "-latency", "1ms", "-min-rto", "20ms"}, &stdout, &stderr)
	is.Equal(code, 0) // echo over rdt across every fault
	is.True(strings.Contains(stdout.String(), "identical: true"))
	is.Equal(Run([]string{"transfer", "-arq", "tcp"}, &stdout, &stderr), 2)   // unknown ARQ
	is.Equal(Run([]string{"transfer", "-loss", "2"}, &stdout, &stderr), 2)    // probability out of range: usage error, before anything runs
	is.Equal(Run([]string{"transfer", "-rate", "fast"}, &stdout, &stderr), 2) // bad rate
	is.Equal(Run([]string{"sweep", "-loss", "1:0:1"}, &stdout, &stderr), 2)   // bad range
}

func TestSweepWritesOneRowPerRun(t *testing.T) {
	is := is.New(t)
	var stdout, stderr bytes.Buffer
	svg := filepath.Join(t.TempDir(), "sweep.svg")
	code := Run([]string{"sweep", "-bytes", "8192", "-latency", "1ms", "-loss", "0:0.1:0.05", "-arq", "saw,sr", "-min-rto", "20ms", "-plot", svg}, &stdout, &stderr)
	is.Equal(code, 0) // every run checked out
	rows, err := csv.NewReader(&stdout).ReadAll()
	is.NoErr(err)            // CSV
	is.Equal(len(rows), 1+6) // header + 3 losses × 2 schemes
	is.Equal(rows[0][0], "proto")
	is.Equal(rows[0][len(rows[0])-1], "error") // why a run failed; empty here
	is.Equal(rows[1][len(rows[1])-1], "")
	drawing, err := os.ReadFile(svg)
	is.NoErr(err)                                      // plot written
	is.True(strings.Contains(string(drawing), "<svg")) // as SVG
	is.True(strings.Contains(string(drawing), "goodput"))
}

// runTwice runs one scenario under synctest and returns its JSON report and
// pcap.
func reportAndPcap(t *testing.T, sc scenario) (string, []byte) {
	var js string
	var capture []byte
	synctest.Test(t, func(t *testing.T) {
		rep := run(sc, true)
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		js = string(b)
		var buf bytes.Buffer
		if err := pcap.Write(&buf, rep.start, rep.records); err != nil {
			t.Fatal(err)
		}
		capture = buf.Bytes()
	})
	return js, capture
}

func TestSameSeedGivesByteIdenticalReportAndPcap(t *testing.T) {
	is := is.New(t)
	sc := scenario{Proto: "echo", Seed: 7, ARQ: rdt.SelectiveRepeat, Window: 16, MSS: 1200, Bytes: 30000, Settle: true,
		Faults:  sim.Faults{Latency: 10 * time.Millisecond, Jitter: time.Millisecond, Loss: 0.1, Duplicate: 0.05, Reorder: 0.05, Corrupt: 0.05, MTU: 1500},
		Timeout: time.Minute}
	r1, p1 := reportAndPcap(t, sc)
	r2, p2 := reportAndPcap(t, sc)
	sc.Seed = 8
	r3, _ := reportAndPcap(t, sc)
	is.True(strings.Contains(r1, `"ok":true`)) // the echo checked out
	is.Equal(r1, r2)                           // same seed: byte-identical JSON report
	is.True(bytes.Equal(p1, p2))               // and pcap
	is.True(r1 != r3)                          // another seed: other fates
}

// TestSameSeedIsByteIdenticalUnderEveryFault repeats lossy runs under
// synctest: packets sent, delivered and acted on at the same virtual instant
// by different goroutines (a link's settle timer, a due delivery, a
// sender's settle timer) must come out in the same order every time. Stop-
// and-wait with tiny segments on a zero-latency link crowds many events into
// single instants; it differed in about half the runs before each link got
// one scheduler goroutine and network and transport instants were split.
func TestSameSeedIsByteIdenticalUnderEveryFault(t *testing.T) {
	every := sim.Faults{Latency: time.Millisecond, Loss: 0.1, Duplicate: 0.1, Reorder: 0.1, Corrupt: 0.1, MTU: 1500}
	jittery := every
	jittery.Jitter = time.Millisecond
	cases := []scenario{
		{Proto: "transfer", ARQ: rdt.StopAndWait, Window: 1, MSS: 16, Bytes: 2000, Faults: sim.Faults{Loss: 0.1, Duplicate: 0.1}},
		{Proto: "echo", ARQ: rdt.StopAndWait, Window: 1, MSS: 16, Bytes: 1000, Faults: sim.Faults{Loss: 0.1, Duplicate: 0.1}},
		{Proto: "transfer", ARQ: rdt.GoBackN, Window: 8, MSS: 600, Bytes: 20000, Faults: every},
		{Proto: "transfer", ARQ: rdt.SelectiveRepeat, Window: 16, MSS: 600, Bytes: 20000, Faults: jittery},
	}
	for _, sc := range cases {
		t.Run(fmt.Sprintf("%s-%s", sc.ARQ, sc.Proto), func(t *testing.T) {
			is := is.New(t)
			sc.Seed, sc.Settle, sc.Timeout = 3, true, 10*time.Minute
			r1, p1 := reportAndPcap(t, sc)
			is.True(strings.Contains(r1, `"ok":true`)) // the run checked out
			for range 5 {
				r, p := reportAndPcap(t, sc)
				is.True(r == r1)            // same seed: byte-identical JSON report
				is.True(bytes.Equal(p, p1)) // and pcap
			}
			sc.Seed = 4
			r3, _ := reportAndPcap(t, sc)
			is.True(r3 != r1) // another seed: other fates
		})
	}
}

func TestScenarioFile(t *testing.T) {
	is := is.New(t)
	path := filepath.Join(t.TempDir(), "run.toml")
	os.WriteFile(path, []byte(`proto = "transfer"
seed = 3
arq = "sr"
window = 8
bytes = 20000
min_rto = "20ms"
[faults]
latency = "1ms"
loss = 0.1
[faults.burst]
p = 0.05
r = 0.5
h = 0.5
k = 1.0
[[faults.down]]
from = "0s"
to = "300ms"
`), 0o644)
	var stdout, stderr bytes.Buffer
	is.Equal(Run([]string{"transfer", "-scenario", path, "-json"}, &stdout, &stderr), 0) // the file describes a run that checks out
	var rep report
	is.NoErr(json.Unmarshal(stdout.Bytes(), &rep))
	is.Equal(rep.Scenario.Seed, uint64(3))                         // from the file
	is.Equal(rep.Scenario.Faults.Latency, time.Millisecond)        // durations as strings
	is.Equal(rep.Scenario.Faults.Burst.R, 0.5)                     // nested tables
	is.Equal(rep.Scenario.Faults.Down[0].To, 300*time.Millisecond) // arrays of tables
	is.True(rep.Links[0].Dropped["down"] > 0)                      // the SYN sent during the outage was dropped

	is.Equal(Run([]string{"transfer", "-scenario", path, "-loss", "0.2"}, &stdout, &stderr), 2) // file and flags: usage error
	is.Equal(Run([]string{"echo", "-scenario", path}, &stdout, &stderr), 2)                     // a transfer file for echo
	os.WriteFile(path, []byte("proto = \"transfer\"\nlos = 0.1\n"), 0o644)
	is.Equal(Run([]string{"transfer", "-scenario", path}, &stdout, &stderr), 2) // unknown key
}

func TestPingThroughTwentyPercentLossUnchanged(t *testing.T) {
	is := is.New(t)
	var reps []pingReport
	for _, seed := range []uint64{1, 1, 2} {
		synctest.Test(t, func(t *testing.T) {
			f := sim.Faults{Latency: 5 * time.Millisecond, Loss: 0.2, Duplicate: 0.05}
			reps = append(reps, pingOverSim(context.Background(), seed, f, 100, 10*time.Millisecond, 200*time.Millisecond, io.Discard, false))
		})
	}
	r := reps[0]
	is.True(r.OK)                                 // every probe accounted for, every delivered reply counted
	is.True(r.Ping.Lost > 20 && r.Ping.Lost < 55) // about 1-0.8² = 36% of probes lost
	is.Equal(r.Ping.Lost, 100-r.Ping.Received)    // nothing late at 10 ms RTT
	is.Equal(r.Links[1].Delivered, r.Ping.Received+r.Ping.Duplicates)
	is.Equal(fmt.Sprint(reps[0].Links), fmt.Sprint(reps[1].Links)) // same seed, same fates
	is.Equal(reps[0].Ping.Received, reps[1].Ping.Received)
	is.True(fmt.Sprint(reps[0].Links) != fmt.Sprint(reps[2].Links)) // another seed, other fates
	var stdout, stderr bytes.Buffer
	// The command runs on the wall clock: a generous -W keeps a stall of the
	// loaded CI machine from turning a reply into one that came too late.
	code := Run([]string{"ping", "-c", "5", "-i", "1ms", "-W", "5s", "-latency", "1ms", "-json"}, &stdout, &stderr)
	if code != 0 {
		t.Logf("netsim ping exited %d:\n%s\n%s", code, stdout.String(), stderr.String())
	}
	is.Equal(code, 0) // the command
	is.True(strings.Contains(stdout.String(), `"transmitted": 5`))
	is.True(strings.Contains(stdout.String(), `"dropped": {}`)) // a link's drops are reported even when there are none
	is.Equal(Run([]string{"ping", "-c", "0"}, &stdout, &stderr), 2)
}

func TestHTTPdOverSimIsByteExactAgainstMem(t *testing.T) {
	for _, arq := range []rdt.ARQ{rdt.GoBackN, rdt.SelectiveRepeat} {
		t.Run(string(arq), func(t *testing.T) {
			is := is.New(t)
			dir := t.TempDir()
			var rep httpReport
			synctest.Test(t, func(t *testing.T) {
				sc := scenario{Proto: "http", Seed: 2, ARQ: arq, Window: 16, MSS: 1200, Bytes: 200 << 10, Settle: true,
					Faults: sim.Faults{Latency: 5 * time.Millisecond, Loss: 0.05, Duplicate: 0.02, Reorder: 0.02, Corrupt: 0.02, MTU: 1500}}
				rep = httpOverSim(context.Background(), sc, dir)
			})
			is.Equal(rep.Error, "")
			is.True(rep.OK)                          // identical to the same GETs over mem
			is.True(rep.Links[1].DroppedTotal() > 0) // the responses crossed a lossy link
			is.Equal(len(rep.Client), 1)             // both GETs on one keep-alive connection
		})
	}
	is := is.New(t)
	var stdout, stderr bytes.Buffer
	is.Equal(Run([]string{"http", "-bytes", "10000", "-latency", "1ms", "-min-rto", "20ms"}, &stdout, &stderr), 0) // the command, on the wall clock
	for _, field := range []string{"goodput", "sent", "dropped", "duplicated", "reordered", "max queue", "retransmits", "RTO history"} {
		is.True(strings.Contains(stdout.String(), field)) // every field of the report, in text too
	}
}

// TestSameSeedHTTPAndSMTPAreByteIdentical: httpd with Go's HTTP client,
// and the smtp client with a go-smtp server, over sim/rdt at 5% loss, each
// run four times with one seed under synctest: the same JSON report
// (responses or message, link counts, every connection's stats) and the
// same pcap every time.
func TestSameSeedHTTPAndSMTPAreByteIdentical(t *testing.T) {
	base := scenario{Seed: 5, ARQ: rdt.SelectiveRepeat, Window: 16, MSS: 1200, MinRTO: 20 * time.Millisecond, Bytes: 64 << 10,
		Settle: true, Keep: true, Faults: sim.Faults{Latency: time.Millisecond, Loss: 0.05, MTU: 1500}, Timeout: time.Minute}
	runs := map[string]func(t *testing.T, sc scenario) (any, time.Time, []sim.Record){
		"http": func(t *testing.T, sc scenario) (any, time.Time, []sim.Record) {
			rep := httpOverSim(context.Background(), sc, t.TempDir())
			return rep, rep.start, rep.records
		},
		"smtp": func(t *testing.T, sc scenario) (any, time.Time, []sim.Record) {
			rep := smtpOverSim(context.Background(), sc)
			return rep, rep.start, rep.records
		},
	}
	for proto, runOnce := range runs {
		t.Run(proto, func(t *testing.T) {
			is := is.New(t)
			sc := base
			sc.Proto = proto
			reportAndPcap := func() (string, []byte) {
				var js string
				var capture []byte
				synctest.Test(t, func(t *testing.T) {
					rep, start, records := runOnce(t, sc)
					b, err := json.Marshal(rep)
					is.NoErr(err)
					js = string(b)
					var buf bytes.Buffer
					is.NoErr(pcap.Write(&buf, start, records))
					capture = buf.Bytes()
				})
				return js, capture
			}
			r1, p1 := reportAndPcap()
			is.True(strings.Contains(r1, `"ok":true`)) // the run checked out
			for range 3 {
				r, p := reportAndPcap()
				is.Equal(r, r1)             // same seed: byte-identical JSON report
				is.True(bytes.Equal(p, p1)) // and pcap
			}
		})
	}
}

// TestSweepFromAScenarioFile: -scenario gives the experiment swept (here
// an echo over a 1 ms link, 4 KiB, seed 9), -loss and -arq its axes; other
// experiment flags beside the file, -proto with it, or a file that does
// not say its proto are usage errors.
func TestSweepFromAScenarioFile(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "echo.toml")
	is.NoErr(os.WriteFile(file, []byte("proto = \"echo\"\nseed = 9\nbytes = 4096\nmin_rto = \"20ms\"\n[faults]\nlatency = \"1ms\"\n"), 0o644))
	var stdout, stderr bytes.Buffer
	code := Run([]string{"sweep", "-scenario", file, "-loss", "0:0.1:0.1", "-arq", "gbn,sr"}, &stdout, &stderr)
	is.Equal(code, 0) // every run checked out
	rows, err := csv.NewReader(&stdout).ReadAll()
	is.NoErr(err)
	is.Equal(len(rows), 1+4) // header + 2 losses × 2 schemes
	for _, r := range rows[1:] {
		is.Equal(r[0], "echo") // the file's proto
		is.Equal(r[3], "9")    // its seed
		is.Equal(r[4], "4096") // its size
	}
	is.Equal(rows[2][2], "0.1") // the sweep's losses
	noProto := filepath.Join(dir, "none.toml")
	is.NoErr(os.WriteFile(noProto, []byte("seed = 9\n"), 0o644))
	for _, args := range [][]string{
		{"sweep", "-scenario", file, "-window", "8"},   // described twice
		{"sweep", "-scenario", file, "-proto", "http"}, // proto twice
		{"sweep", "-scenario", noProto},                // which run?
	} {
		is.Equal(Run(args, &stdout, &stderr), 2) // usage error
	}
}

// TestPingScenarioFile: netsim ping reads a whole experiment from TOML too;
// giving a flag it replaces, or a file for another run, is a usage error.
func TestPingScenarioFile(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "ping.toml")
	is.NoErr(os.WriteFile(file, []byte("proto = \"ping\"\nseed = 7\ncount = 30\ninterval = \"5ms\"\n[faults]\nlatency = \"2ms\"\nloss = 0.1\n"), 0o644))
	var stdout, stderr bytes.Buffer
	code := Run([]string{"ping", "-scenario", file, "-json"}, &stdout, &stderr)
	var rep struct {
		OK     bool
		Seed   uint64
		Faults sim.Faults
		Ping   struct{ Transmitted uint64 }
	}
	is.NoErr(json.Unmarshal(stdout.Bytes(), &rep))
	is.Equal(rep.Ping.Transmitted, uint64(30)) // the file's count
	is.Equal(rep.Seed, uint64(7))              // its seed
	is.Equal(rep.Faults.Loss, 0.1)             // its faults
	is.Equal(code, exitCode(rep.OK))           // exit status from the check
	other := filepath.Join(dir, "echo.toml")
	is.NoErr(os.WriteFile(other, []byte("proto = \"echo\"\n"), 0o644))
	is.Equal(Run([]string{"ping", "-scenario", file, "-c", "5"}, &stdout, &stderr), 2) // described twice
	is.Equal(Run([]string{"ping", "-scenario", other}, &stdout, &stderr), 2)           // not a ping run
}
