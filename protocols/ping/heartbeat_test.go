package ping_test

import (
	"math"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/protocols/ping"
)

func TestHeartbeatsGapsDownAndBack(t *testing.T) {
	is := is.New(t)
	t0 := time.Unix(0, 0)
	h := ping.NewHeartbeats(3*time.Second, 2)
	is.Equal(len(h.Beat("a:1", 1, t0, nil)), 0) // first beat: nothing to say
	notes := h.Beat("a:1", 4, t0.Add(time.Second), nil)
	is.Equal(notes, []ping.Note{{Kind: ping.NoteLost, Peer: "a:1", First: 2, Last: 3, At: t0.Add(time.Second)}}) // 2 and 3 lost
	is.Equal(len(h.Beat("a:1", 2, t0.Add(1100*time.Millisecond), nil)), 0)                                       // a straggler is no new gap
	is.Equal(len(h.Tick(t0.Add(3*time.Second), nil)), 0)                                                         // 1.9 s of silence
	down := h.Tick(t0.Add(4200*time.Millisecond), nil)
	is.Equal(len(down), 1)
	is.Equal(down[0].Kind, ping.NoteDown)
	is.Equal(down[0].Last, uint64(4))
	is.Equal(down[0].Gap, 3100*time.Millisecond)
	is.Equal(len(h.Tick(t0.Add(9*time.Second), nil)), 0) // reported once
	back := h.Beat("a:1", 5, t0.Add(10*time.Second), nil)
	is.Equal(back, []ping.Note{{Kind: ping.NoteBack, Peer: "a:1", Last: 5, Gap: 8900 * time.Millisecond, At: t0.Add(10 * time.Second)}})
}

func TestHeartbeatsBoundedPeers(t *testing.T) {
	is := is.New(t)
	t0 := time.Unix(0, 0)
	h := ping.NewHeartbeats(time.Second, 2)
	h.Beat("a", 1, t0, nil)
	h.Beat("b", 1, t0, nil)
	h.Beat("c", 1, t0, nil)
	is.Equal(h.Tracked(), 2) // c ignored: the table is full
	h.Tick(t0.Add(2*time.Second), nil)
	h.Beat("c", 1, t0.Add(2*time.Second), nil)
	is.Equal(h.Tracked(), 2) // a down client made room for c
}

func TestHeartbeatsClientRestart(t *testing.T) {
	is := is.New(t)
	t0 := time.Unix(0, 0)
	h := ping.NewHeartbeats(time.Hour, 4)
	h.Beat("a", 5000, t0, nil)
	is.Equal(len(h.Beat("a", 1, t0, nil)), 0) // a restarted client starts again at 1
	notes := h.Beat("a", 3, t0, nil)
	is.Equal(notes, []ping.Note{{Kind: ping.NoteLost, Peer: "a", First: 2, Last: 2, At: t0}}) // gaps seen again after the restart

	h.Beat("b", 9000, t0, nil)
	is.Equal(len(h.Beat("b", 7000, t0, nil)), 0) // far behind: a restart, not 2000 late beats
	is.Equal(len(h.Beat("b", 7001, t0, nil)), 0) // and counting resumes from there
}

func TestHeartbeatsSequenceNearWrap(t *testing.T) {
	is := is.New(t)
	t0 := time.Unix(0, 0)
	h := ping.NewHeartbeats(time.Hour, 4)
	h.Beat("a", math.MaxUint64, t0, nil)
	is.Equal(len(h.Beat("a", math.MaxUint64, t0, nil)), 0)   // a duplicate at the top is no gap
	is.Equal(len(h.Beat("a", math.MaxUint64-1, t0, nil)), 0) // nor is a straggler
	h.Beat("b", math.MaxUint64-3, t0, nil)
	notes := h.Beat("b", math.MaxUint64, t0, nil)
	is.Equal(notes, []ping.Note{{Kind: ping.NoteLost, Peer: "b", First: math.MaxUint64 - 2, Last: math.MaxUint64 - 1, At: t0}}) // no wrap to 0
}
