package ping_test

import (
	"math"
	"testing"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/protocols/ping"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const msec = time.Millisecond

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestStatsHandComputed walks one run through every outcome; the expected
// values are worked out by hand in the comments.
func TestStatsHandComputed(t *testing.T) {
	is := is.New(t)
	t0 := time.Unix(1000, 0)
	s := ping.NewStats(100*msec, 64)
	for seq := uint64(1); seq <= 5; seq++ {
		s.Sent(seq, t0.Add(time.Duration(seq-1)*10*msec), seq == 5) // sent at 0, 10, 20, 30, 40 ms
	}
	is.Equal(s.Reply(1, t0.Add(5*msec)), ping.Match{Outcome: ping.InTime, RTT: 5 * msec})                    // rtt 5
	is.Equal(s.Reply(3, t0.Add(28*msec)), ping.Match{Outcome: ping.InTime, RTT: 8 * msec})                   // rtt 8
	is.Equal(s.Reply(2, t0.Add(30*msec)), ping.Match{Outcome: ping.InTime, RTT: 20 * msec, Reordered: true}) // after 3's reply
	is.Equal(s.Reply(2, t0.Add(31*msec)).Outcome, ping.Duplicate)                                            // second reply to 2
	is.Equal(s.Reply(9, t0.Add(32*msec)).Outcome, ping.Unmatched)                                            // never sent
	is.Equal(s.Reply(0, t0.Add(32*msec)).Outcome, ping.Unmatched)                                            // seq 0 is never sent
	is.Equal(s.Expire(t0.Add(129*msec), nil), []uint64(nil))                                                 // 4 is due at 130
	is.Equal(s.Expire(t0.Add(135*msec), nil), []uint64{4})                                                   // 4 timed out
	is.True(!s.Done())                                                                                       // 5 still waits
	late := s.Reply(4, t0.Add(136*msec))
	is.Equal(late, ping.Match{Outcome: ping.Late, RTT: 106 * msec}) // late, not lost
	is.Equal(s.Reply(4, t0.Add(137*msec)).Outcome, ping.Duplicate)  // a late reply is not counted twice
	is.Equal(s.Expire(t0.Add(141*msec), nil), []uint64{5})
	is.True(s.Done()) // last probe settled

	sum := s.Summary()
	is.Equal(sum.Transmitted, uint64(5))
	is.Equal(sum.Received, uint64(3))   // 1, 2, 3
	is.Equal(sum.Duplicates, uint64(2)) // 2 again, 4 again
	is.Equal(sum.Late, uint64(1))       // 4
	is.Equal(sum.Lost, uint64(1))       // 5 only: 4 is late, not lost
	is.True(near(sum.LossPercent, 20))
	is.Equal(sum.Reordered, uint64(1))
	is.Equal(sum.Unmatched, uint64(2))
	r := sum.RTT
	is.True(near(r.Min, 5) && near(r.Max, 20) && near(r.Avg, 11)) // (5+8+20)/3
	is.True(near(r.Mdev, math.Sqrt(42)))                          // (25+64+400)/3 − 11² = 42
	is.True(near(r.P50, 8) && near(r.P90, 20) && near(r.P99, 20)) // nearest rank of 3 values
	// RFC 3550 jitter over 5, 8, 20 in arrival order: J = 3/16, then
	// J += (12 − J)/16.
	is.True(near(r.Jitter, 3.0/16+(12-3.0/16)/16))
}

func TestStatsLateByRTTWithoutExpire(t *testing.T) {
	is := is.New(t)
	t0 := time.Unix(0, 0)
	s := ping.NewStats(50*msec, 64)
	s.Sent(1, t0, true)
	is.Equal(s.Reply(1, t0.Add(60*msec)).Outcome, ping.Late) // no tick came, the RTT says late
	is.Equal(s.Expire(t0.Add(70*msec), nil), []uint64(nil))  // and it is not reported lost afterwards
	sum := s.Summary()
	is.Equal(sum.Lost, uint64(0))
	is.Equal(sum.Late, uint64(1))
	is.True(sum.RTT == nil) // no in-time replies: no RTT statistics
	is.True(s.Done())
}

func TestStatsForgetsOldProbesButCountsThemLate(t *testing.T) {
	is := is.New(t)
	t0 := time.Unix(0, 0)
	s := ping.NewStats(msec, 16)
	for seq := uint64(1); seq <= 40; seq++ {
		s.Sent(seq, t0.Add(time.Duration(seq)*msec), false)
		s.Expire(t0.Add(time.Duration(seq)*msec), nil)
	}
	is.Equal(s.Reply(2, t0.Add(50*msec)).Outcome, ping.Late) // beyond the ring: late, no RTT
	sum := s.Summary()
	is.Equal(sum.Late, uint64(1))
	is.Equal(sum.Lost, uint64(39))
}

func TestPercentileNearestRank(t *testing.T) {
	is := is.New(t)
	var v []time.Duration
	for i := 1; i <= 100; i++ {
		v = append(v, time.Duration(i))
	}
	is.Equal(ping.Percentile(v, 50), time.Duration(50))
	is.Equal(ping.Percentile(v, 90), time.Duration(90))
	is.Equal(ping.Percentile(v, 99), time.Duration(99))
	is.Equal(ping.Percentile(v, 100), time.Duration(100))
	is.Equal(ping.Percentile(v[:1], 99), time.Duration(1))
	is.Equal(ping.Percentile(nil, 50), time.Duration(0))
}

func TestWindowCoversTheProbesInFlight(t *testing.T) {
	is := is.New(t)
	is.Equal(ping.Window(time.Second, msec), 2064) // 1000 in flight, doubled, + 64
	is.Equal(ping.Window(time.Second, time.Second), 66)
	is.Equal(ping.Window(time.Hour, time.Nanosecond), 1<<20) // capped
}
