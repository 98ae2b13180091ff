package sim

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// Addr is a sim endpoint: a host name and a port.
type Addr struct {
	Host string
	Port int
}

// Network returns "sim".
func (a Addr) Network() string { return "sim" }

// String returns "host:port".
func (a Addr) String() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// ParseAddr reads "host:port".
func ParseAddr(s string) (Addr, error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return Addr{}, fmt.Errorf("sim: bad address %q: %w", s, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return Addr{}, fmt.Errorf("sim: bad port in %q", s)
	}
	return Addr{Host: h, Port: port}, nil
}

// Drop reasons, as they appear in Record.Drop and DirStats.Dropped.
const (
	DropMTU     = "mtu"     // larger than the link's MTU
	DropDown    = "down"    // the link was down (partition)
	DropQueue   = "queue"   // the rate queue was full (tail drop)
	DropScript  = "script"  // listed in Faults.DropPackets
	DropLoss    = "loss"    // Bernoulli loss
	DropBurst   = "burst"   // Gilbert-Elliott loss
	DropRcvBuf  = "rcvbuf"  // the receiving socket's queue was full
	DropUnbound = "unbound" // nobody bound at the destination port
)

// Packet is one datagram crossing one direction of a link. It carries its
// send time, and every fault stage works out times from it (Depart, Due)
// instead of sleeping, so delays along the chain never add up and every
// decision is made in the direction's packet order. Only the last stage,
// deliver, waits: until Due.
type Packet struct {
	N         uint64    // index in this link direction, from 0
	From, To  Addr      // endpoints
	Payload   []byte    // owned by the packet
	Sent      time.Time // when the host wrote it
	Depart    time.Time // when its last bit left the sender's queue (Sent without a rate)
	Due       time.Time // when it reaches the far host
	Drop      string    // why it was dropped; "" if it was not
	Copies    int       // 1, or more when duplicated
	Corrupted bool      // a bit was flipped
	Reordered bool      // held back so later packets overtake it
}

// Record is what happened to one packet: the line of a link's transcript.
type Record struct {
	N         uint64        `json:"n"`
	From      string        `json:"from"`
	To        string        `json:"to"`
	Size      int           `json:"size"`
	Sent      time.Duration `json:"sent"` // since the network started
	Due       time.Duration `json:"due"`  // since the network started; 0 when dropped
	Drop      string        `json:"drop,omitempty"`
	Copies    int           `json:"copies,omitempty"`
	Corrupted bool          `json:"corrupted,omitempty"`
	Reordered bool          `json:"reordered,omitempty"`
	Payload   []byte        `json:"-"` // kept for pcap writers; nil unless Config.KeepPayloads
}

// String is one transcript line.
func (r Record) String() string {
	fate := "delivered"
	switch {
	case r.Drop != "":
		fate = "dropped(" + r.Drop + ")"
	case r.Copies > 1:
		fate = fmt.Sprintf("delivered x%d", r.Copies)
	}
	if r.Corrupted {
		fate += " corrupted"
	}
	if r.Reordered {
		fate += " reordered"
	}
	due := ""
	if r.Drop == "" {
		due = " due " + r.Due.String()
	}
	return fmt.Sprintf("#%d %s>%s %dB sent %s%s %s", r.N, r.From, r.To, r.Size, r.Sent, due, fate)
}
