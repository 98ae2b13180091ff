package ping

import (
	"testing"
	"time"

	"github.com/matryer/is"
)

// TestScheduleCatchesUpALittleAndSkipsAStall: a pacer a few intervals late
// sends what it owes at once; one stopped for a minute does not send the
// sixty probes it missed, it moves on from now.
func TestScheduleCatchesUpALittleAndSkipsAStall(t *testing.T) {
	is := is.New(t)
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	due, start := schedule(t0, 5, time.Second, t0.Add(4500*time.Millisecond))
	is.Equal(due, t0.Add(4*time.Second)) // on time: due on the schedule
	is.Equal(start, t0)
	due, start = schedule(t0, 5, time.Second, t0.Add(12*time.Second))
	is.Equal(due, t0.Add(4*time.Second)) // 8 intervals late: still owed, sent at once
	is.Equal(start, t0)
	now := t0.Add(64 * time.Second)
	due, start = schedule(t0, 5, time.Second, now)
	is.Equal(due, now) // 60 intervals late (a stall): this probe now
	due, _ = schedule(start, 6, time.Second, now)
	is.Equal(due, now.Add(time.Second)) // and the next one an interval later, not at once
}
