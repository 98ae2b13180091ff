package sim_test

import (
	"fmt"
	"math"
	"math/bits"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/sim"
)

// TestGilbertElliottLosesInBursts: with p=0.05, r=0.25, h=0 (the bad state
// loses everything) and k=1 (the good one nothing), the chain is bad 1/6 of
// the time and a bad spell lasts 1/r = 4 packets on average, so losses come
// in runs of about 4, where Bernoulli loss at the same rate gives runs of
// 1/(1-1/6) = 1.2.
func TestGilbertElliottLosesInBursts(t *testing.T) {
	is := is.New(t)
	const n = 6000
	_, recs, st := blast(t, 5, sim.Faults{Burst: &sim.GilbertElliott{P: 0.05, R: 0.25, H: 0, K: 1}}, n, time.Millisecond)
	lost := float64(st.Dropped[sim.DropBurst])
	is.True(math.Abs(lost/n-1.0/6) < 0.03) // the stationary loss rate, 1/6
	runs, inRun := 0, false
	for _, r := range recs {
		if r.Drop == sim.DropBurst && !inRun {
			runs++
		}
		inRun = r.Drop == sim.DropBurst
	}
	mean := lost / float64(runs)
	is.True(mean > 3 && mean < 5.5) // bursts of about 1/r = 4, not Bernoulli's 1.2
}

// TestCorruptionFlipsExactlyOneBit: every packet through a link with
// Corrupt=1 arrives with one bit flipped, and is counted.
func TestCorruptionFlipsExactlyOneBit(t *testing.T) {
	is := is.New(t)
	got, _, st := blast(t, 2, sim.Faults{Corrupt: 1}, 200, time.Millisecond)
	is.Equal(len(got), 200)             // corrupted, not dropped
	is.Equal(st.Corrupted, uint64(200)) // each counted
	for i, g := range got {
		want := fmt.Sprintf("packet %04d", i)
		is.Equal(len(g), len(want)) // same length
		flipped := 0
		for j := range g {
			flipped += bits.OnesCount8(g[j] ^ want[j])
		}
		is.Equal(flipped, 1) // one bit, no more
	}
}
