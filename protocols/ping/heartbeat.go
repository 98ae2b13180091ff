package ping

import (
	"cmp"
	"slices"
	"time"
)

// NoteKind is what heartbeat tracking noticed.
type NoteKind int

// Heartbeat notes.
const (
	// NoteLost is a gap in a client's heartbeat sequence: First..Last lost.
	NoteLost NoteKind = iota + 1
	// NoteDown is a client silent for longer than the timeout; Last is its
	// last seq, Gap the silence.
	NoteDown
	// NoteBack is a client reported down that sent again; Last is the new
	// seq, Gap how long it was silent.
	NoteBack
)

// Note is one heartbeat report.
type Note struct {
	Kind        NoteKind
	Peer        string
	First, Last uint64
	Gap         time.Duration
	At          time.Time
}

type peer struct {
	lastSeq uint64
	lastAt  time.Time
	down    bool
}

// Heartbeats tracks the clients that send heartbeats (the textbook's UDP
// heartbeat exercise): sequence gaps are lost heartbeats, silence longer
// than the timeout means the client is down, a heartbeat after that means
// it is back. Not safe for concurrent use: the server's handler owns it.
// At most maxPeers clients are tracked; a new client beyond that is
// ignored until a client that is down can be forgotten.
type Heartbeats struct {
	timeout  time.Duration
	maxPeers int
	peers    map[string]*peer
}

// NewHeartbeats returns a tracker.
func NewHeartbeats(timeout time.Duration, maxPeers int) *Heartbeats {
	return &Heartbeats{timeout: timeout, maxPeers: maxPeers, peers: make(map[string]*peer)}
}

// Beat records heartbeat seq from addr at at and appends what it noticed.
func (h *Heartbeats) Beat(addr string, seq uint64, at time.Time, notes []Note) []Note {
	p := h.peers[addr]
	if p == nil {
		if len(h.peers) >= h.maxPeers && !h.forgetOneDown() {
			return notes
		}
		h.peers[addr] = &peer{lastSeq: seq, lastAt: at}
		return notes
	}
	if p.down {
		p.down = false
		notes = append(notes, Note{Kind: NoteBack, Peer: addr, Last: seq, Gap: at.Sub(p.lastAt), At: at})
	}
	switch {
	case seq > p.lastSeq:
		if seq-p.lastSeq > 1 { // written so that lastSeq near 2^64 cannot wrap
			notes = append(notes, Note{Kind: NoteLost, Peer: addr, First: p.lastSeq + 1, Last: seq - 1, At: at})
		}
		p.lastSeq = seq
	case restarted(p.lastSeq, seq):
		p.lastSeq = seq
	}
	// Otherwise a late or duplicate heartbeat: its gap was already counted.
	p.lastAt = at
	return notes
}

// reorderWindow is how far back a heartbeat may arrive and still count as
// late rather than as a sign that the client restarted its sequence.
const reorderWindow = 1024

// restarted reports whether seq, not above last, means the client started
// counting again (a restarted ping -heartbeat begins at 1) rather than a
// late heartbeat; tracking then resumes from seq so later gaps are seen.
func restarted(last, seq uint64) bool {
	return seq == 1 || last-seq > reorderWindow
}

// Tick reports the clients that have been silent for the timeout as down,
// once each, in address order.
func (h *Heartbeats) Tick(now time.Time, notes []Note) []Note {
	from := len(notes)
	defer func() {
		slices.SortFunc(notes[from:], func(a, b Note) int { return cmp.Compare(a.Peer, b.Peer) })
	}()
	for addr, p := range h.peers {
		if !p.down && now.Sub(p.lastAt) >= h.timeout {
			p.down = true
			notes = append(notes, Note{Kind: NoteDown, Peer: addr, Last: p.lastSeq, Gap: now.Sub(p.lastAt), At: now})
		}
	}
	return notes
}

// Tracked returns how many clients are tracked.
func (h *Heartbeats) Tracked() int { return len(h.peers) }

func (h *Heartbeats) forgetOneDown() bool {
	for addr, p := range h.peers {
		if p.down {
			delete(h.peers, addr)
			return true
		}
	}
	return false
}
