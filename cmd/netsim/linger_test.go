package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"netstages/sim"
	"netstages/sim/rdt"
)

// TestEndStacksDoesNotWaitForAPeerResendingIntoTheVoid: after an
// experiment, a connection whose teardown cannot finish (here the link goes
// down for an hour once both ends have closed; in real runs a lost RST)
// would back off for minutes. endStacks waits the linger only, closes the
// network and leaves the experiment's context unspent for the reference
// run over transport/mem.
func TestEndStacksDoesNotWaitForAPeerResendingIntoTheVoid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		f := sim.Faults{Latency: time.Millisecond, Down: []sim.Outage{{From: 100 * time.Millisecond, To: time.Hour}}}
		nw := sim.New(sim.Config{Seed: 1})
		defer nw.Close()
		_, err := nw.Connect("a", "b", f, f)
		is.NoErr(err) // link
		a, err := rdt.New(nw.Host("a"), rdt.Config{})
		is.NoErr(err) // stack a
		b, err := rdt.New(nw.Host("b"), rdt.Config{})
		is.NoErr(err) // stack b
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		ln, err := b.Listen(ctx, "tcp", "b:9")
		is.NoErr(err) // listen
		accepted := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				time.Sleep(200 * time.Millisecond) // the link is down by now
				c.Close()
			}
			ln.Close()
			accepted <- err
		}()
		c, err := a.DialContext(ctx, "tcp", "b:9")
		is.NoErr(err)        // dialled before the outage
		is.NoErr(<-accepted) // and accepted
		is.NoErr(c.Close())  // its FIN is lost in the outage
		start := time.Now()
		endStacks(ctx, nw, linger, a, b)
		took := time.Since(start)
		is.True(took >= linger-time.Second && took < linger+time.Second) // the linger, not the minutes of backoff
		is.NoErr(ctx.Err())                                              // the experiment's time is left
		done, stop := context.WithCancel(context.Background())
		stop()
		is.NoErr(a.Wait(done)) // nothing left running on either host
		is.NoErr(b.Wait(done))
	})
}

// TestRunsThatCouldOnlyStallAreUsageErrors: the perfect stream never
// resends, so a lossy or reordering link would only stall it until
// -timeout; segments over the MTU would all be dropped; faults out of range
// would fail the run. All are refused at once, with the reason, for every
// command and a scenario file.
func TestRunsThatCouldOnlyStallAreUsageErrors(t *testing.T) {
	toml := filepath.Join(t.TempDir(), "s.toml")
	if err := os.WriteFile(toml, []byte("proto = \"transfer\"\narq = \"perfect\"\n[faults]\nreorder = 0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"http", "-arq", "perfect", "-loss", "0.05"}, "drop loss"},
		{[]string{"smtp", "-arq", "perfect", "-corrupt", "0.01", "-jitter", "1ms"}, "drop corrupt, jitter"},
		{[]string{"transfer", "-arq", "perfect", "-rate", "1M", "-queue", "4"}, "tail drop"},
		{[]string{"transfer", "-scenario", toml}, "drop reorder"},
		{[]string{"sweep", "-arq", "sr,perfect", "-loss", "0:0.1:0.05"}, "drop loss"},
		{[]string{"transfer", "-mss", "1480"}, "over the link's MTU 1500"},
		{[]string{"transfer", "-loss", "2"}, "loss probability 2 is not in [0,1]"},
		{[]string{"http", "-dup", "1.5"}, "duplicate probability 1.5 is not in [0,1]"},
		{[]string{"smtp", "-latency", "-5ms"}, "negative delay"},
		{[]string{"ping", "-loss", "2"}, "loss probability 2 is not in [0,1]"},
		{[]string{"transfer", "-queue", "-1"}, "negative rate, queue or MTU"},
		{[]string{"transfer", "-window", "100000"}, "over 65536 packets"},
		{[]string{"echo", "-timeout", "0"}, "-timeout must be positive"},
		{[]string{"sweep", "-jitter", "-1ms"}, "negative delay"},
	} {
		is := is.New(t)
		var stdout, stderr bytes.Buffer
		is.Equal(Run(c.args, &stdout, &stderr), 2)             // a usage error, at once
		is.True(strings.Contains(stderr.String(), c.want))     // naming what to change
		is.True(!strings.Contains(stdout.String(), "gave up")) // nothing ran
	}
}

// TestSweepSaysWhyARunFailed: a run that fails its check is counted, and
// its reason goes into the CSV's error column and onto stderr.
func TestSweepSaysWhyARunFailed(t *testing.T) {
	is := is.New(t)
	var stdout, stderr bytes.Buffer
	code := Run([]string{"sweep", "-arq", "saw", "-loss", "0.5", "-bytes", "50000", "-latency", "5ms", "-timeout", "200ms"}, &stdout, &stderr)
	is.Equal(code, 1) // the run failed
	rows, err := csv.NewReader(&stdout).ReadAll()
	is.NoErr(err)          // CSV
	is.Equal(len(rows), 2) // header and the one run
	is.Equal(rows[1][5], "false")
	is.True(strings.Contains(rows[1][len(rows[1])-1], "gave up after -timeout 200ms")) // the reason, in the CSV
	is.True(strings.Contains(stderr.String(), "failed: gave up after -timeout 200ms")) // and on stderr
}
