package rdt_test

import (
	"bytes"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"

	"netstages/sim"
	"netstages/sim/rdt"
)

// TestEveryByteExactlyOnceInOrderUnderAnyFaults is the property: whatever
// the loss, duplication, reordering, corruption and jitter (together), the
// window and the seed, Go-Back-N, Selective Repeat and stop-and-wait deliver
// every byte exactly once and in order, both ways, and at most one end sees
// an error (a lost last ACK).
func TestEveryByteExactlyOnceInOrderUnderAnyFaults(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		f := sim.Faults{
			Latency:   time.Duration(rapid.IntRange(0, 20).Draw(rt, "latency_ms")) * time.Millisecond,
			Jitter:    time.Duration(rapid.IntRange(0, 5).Draw(rt, "jitter_ms")) * time.Millisecond,
			Loss:      rapid.Float64Range(0, 0.3).Draw(rt, "loss"),
			Duplicate: rapid.Float64Range(0, 0.2).Draw(rt, "dup"),
			Reorder:   rapid.Float64Range(0, 0.2).Draw(rt, "reorder"),
			Corrupt:   rapid.Float64Range(0, 0.2).Draw(rt, "corrupt"),
		}
		cfg := rdt.Config{
			ARQ:    rapid.SampledFrom([]rdt.ARQ{rdt.StopAndWait, rdt.GoBackN, rdt.SelectiveRepeat}).Draw(rt, "arq"),
			Window: rapid.IntRange(1, 32).Draw(rt, "window"),
			MSS:    rapid.IntRange(16, 1400).Draw(rt, "mss"),
			Settle: rapid.Bool().Draw(rt, "settle"),
			// The property is about what arrives, not about giving up: at these
			// fault rates 13 attempts of one packet can all fail in ~1% of runs
			// and the connection then aborts by design (halfopen_test.go tests
			// that). 64 attempts make an abort vanishingly unlikely.
			MaxRetries: 64,
		}
		maxSize := 16 << 10
		if raceEnabled {
			maxSize = 3 << 10
		}
		size := rapid.IntRange(0, maxSize).Draw(rt, "bytes")
		seed := rapid.Uint64().Draw(rt, "seed")
		var okUp, okDown bool
		var errUp, errDown string
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, seed, cfg, f, f)
			defer w.net.Close()
			c, s, stop := w.pipe(t)
			a, b, gotA, gotB := exchange(t, c, s, size)
			okUp, okDown = bytes.Equal(a, gotA), bytes.Equal(b, gotB)
			stop()
			errUp, errDown = c.(*rdt.Conn).Stats().Err, s.(*rdt.Conn).Stats().Err
		})
		if !okUp || !okDown {
			rt.Fatalf("bytes differ: client→server exact %v, server→client exact %v", okUp, okDown)
		}
		// The last ACK can always be lost (the two generals): with a
		// finite TIME-WAIT one end may time out after the other has ended
		// cleanly, as with TCP. Never both, and never anything else.
		if errUp != "" && errDown != "" {
			rt.Fatalf("both ends failed: client %q, server %q", errUp, errDown)
		}
		for _, e := range []string{errUp, errDown} {
			if e != "" && !strings.Contains(e, "timed out") && !strings.Contains(e, "reset") {
				rt.Fatalf("unexpected end: %q", e)
			}
		}
	})
}
