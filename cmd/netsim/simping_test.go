package main

import (
	"context"
	"io"
	"os"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"netstages/sim"
)

// TestSimulatedPingAt1000PerSecond runs protocols/ping's client against
// its server (pingd's code), unchanged, over a sim link with 10 ms latency
// each way, one probe per millisecond, for SIM_PING_SECONDS simulated
// seconds (5 by default; BENCHMARKS.md uses 60), under synctest. Every
// probe must come back, and it logs how many simulated seconds pass per
// wall second: the figure issue 8 asks for.
func TestSimulatedPingAt1000PerSecond(t *testing.T) {
	is := is.New(t)
	seconds := 5
	if v, err := strconv.Atoi(os.Getenv("SIM_PING_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	var rep pingReport
	var simulated time.Duration
	wall := time.Now()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		rep = pingOverSim(context.Background(), 1, sim.Faults{Latency: 10 * time.Millisecond}, seconds*1000, time.Millisecond, time.Second, io.Discard, false)
		simulated = time.Since(start)
	})
	elapsed := time.Since(wall)
	is.True(rep.OK)                                          // every probe accounted for
	is.Equal(rep.Ping.Received, uint64(seconds*1000))        // and answered: a perfect link
	is.True(simulated >= time.Duration(seconds)*time.Second) // the whole exchange ran in simulated time
	t.Logf("%d probes (ping client and server) over %v simulated in %v of wall time: %.1f simulated seconds per wall second",
		rep.Ping.Transmitted, simulated.Round(time.Millisecond), elapsed.Round(time.Millisecond), simulated.Seconds()/elapsed.Seconds())
}
