package bus

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Topics events are published on.
const (
	TopicConn    = "netstages.conn"    // ConnOpened, ConnClosed, ConnRefused
	TopicRequest = "netstages.request" // RequestDone
	TopicPacket  = "netstages.packet"  // PacketSent, PacketReceived, PacketLost, PeerDown, PeerBack
	TopicMail    = "netstages.mail"    // MailDone
)

// MailDone says what an outbox worker did with one message: "sent",
// "retry" (temporary failure), "dead" (permanent failure, dead-lettered) or
// "duplicate" (already sent, not sent again); or what a direct smtpsend run
// with -bus nats://... did: "sent" or "failed".
type MailDone struct {
	Worker    string    `json:"worker"`
	MessageID string    `json:"message_id"`
	Outcome   string    `json:"outcome"`
	Code      int       `json:"code,omitempty"`
	Reply     string    `json:"reply,omitempty"`
	Attempt   int       `json:"attempt,omitempty"`
	At        time.Time `json:"at"`
}

func (MailDone) Topic() string { return TopicMail }
func (MailDone) Kind() string  { return "mail.done" }

// Event is anything published on the bus.
type Event interface {
	// Topic is the topic the event goes to.
	Topic() string
	// Kind names the event type on the wire, e.g. "conn.opened".
	Kind() string
}

// ConnOpened says a server accepted a connection.
type ConnOpened struct {
	Server string    `json:"server"`
	ConnID uint64    `json:"conn_id"`
	Remote string    `json:"remote"`
	Local  string    `json:"local"`
	At     time.Time `json:"at"`
}

// ConnClosed says a connection ended; Err is empty for a clean end.
type ConnClosed struct {
	Server   string        `json:"server"`
	ConnID   uint64        `json:"conn_id"`
	Remote   string        `json:"remote"`
	At       time.Time     `json:"at"`
	Duration time.Duration `json:"duration_ns"`
	Err      string        `json:"err,omitempty"`
}

// ConnRefused says a server turned a connection away (e.g. over -max-conns).
type ConnRefused struct {
	Server string    `json:"server"`
	Remote string    `json:"remote"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// RequestDone is one answered request, with the fields of a Common (and
// Combined) Log Format line.
type RequestDone struct {
	Server     string        `json:"server"`
	RemoteHost string        `json:"remote_host"`
	Ident      string        `json:"ident,omitempty"`
	User       string        `json:"user,omitempty"`
	Time       time.Time     `json:"time"`
	Method     string        `json:"method"`
	Target     string        `json:"target"`
	Proto      string        `json:"proto"`
	Status     int           `json:"status"`
	Bytes      int64         `json:"bytes"`
	Referer    string        `json:"referer,omitempty"`
	UserAgent  string        `json:"user_agent,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
}

// PacketSent says a probe sent a datagram.
type PacketSent struct {
	Probe  string    `json:"probe"`
	Target string    `json:"target"`
	Seq    uint64    `json:"seq"`
	Size   int       `json:"size"`
	At     time.Time `json:"at"`
}

// PacketReceived says a reply came back; Late means after its timeout.
type PacketReceived struct {
	Probe     string        `json:"probe"`
	Target    string        `json:"target"`
	Seq       uint64        `json:"seq"`
	RTT       time.Duration `json:"rtt_ns"`
	At        time.Time     `json:"at"`
	Duplicate bool          `json:"duplicate,omitempty"`
	Late      bool          `json:"late,omitempty"`
}

// PacketLost says no reply came for a packet within its timeout.
type PacketLost struct {
	Probe  string    `json:"probe"`
	Target string    `json:"target"`
	Seq    uint64    `json:"seq"`
	At     time.Time `json:"at"`
}

// PeerDown says a peer that sent heartbeats fell silent for longer than the
// timeout (pingd -heartbeat-timeout).
type PeerDown struct {
	Server  string        `json:"server"`
	Peer    string        `json:"peer"`
	LastSeq uint64        `json:"last_seq"`
	Silence time.Duration `json:"silence_ns"`
	At      time.Time     `json:"at"`
}

// PeerBack says a peer reported down sent a heartbeat again.
type PeerBack struct {
	Server string        `json:"server"`
	Peer   string        `json:"peer"`
	Seq    uint64        `json:"seq"`
	Down   time.Duration `json:"down_ns"`
	At     time.Time     `json:"at"`
}

func (PeerDown) Topic() string { return TopicPacket }
func (PeerBack) Topic() string { return TopicPacket }
func (PeerDown) Kind() string  { return "peer.down" }
func (PeerBack) Kind() string  { return "peer.back" }

func (ConnOpened) Topic() string     { return TopicConn }
func (ConnClosed) Topic() string     { return TopicConn }
func (ConnRefused) Topic() string    { return TopicConn }
func (RequestDone) Topic() string    { return TopicRequest }
func (PacketSent) Topic() string     { return TopicPacket }
func (PacketReceived) Topic() string { return TopicPacket }
func (PacketLost) Topic() string     { return TopicPacket }

func (ConnOpened) Kind() string     { return "conn.opened" }
func (ConnClosed) Kind() string     { return "conn.closed" }
func (ConnRefused) Kind() string    { return "conn.refused" }
func (RequestDone) Kind() string    { return "request.done" }
func (PacketSent) Kind() string     { return "packet.sent" }
func (PacketReceived) Kind() string { return "packet.received" }
func (PacketLost) Kind() string     { return "packet.lost" }

// decodeEvent turns a payload back into the event type its kind names.
func decodeEvent(kind string, payload []byte) (Event, error) {
	var e Event
	var err error
	switch kind {
	case "conn.opened":
		e, err = unmarshal[ConnOpened](payload)
	case "conn.closed":
		e, err = unmarshal[ConnClosed](payload)
	case "conn.refused":
		e, err = unmarshal[ConnRefused](payload)
	case "request.done":
		e, err = unmarshal[RequestDone](payload)
	case "packet.sent":
		e, err = unmarshal[PacketSent](payload)
	case "packet.received":
		e, err = unmarshal[PacketReceived](payload)
	case "packet.lost":
		e, err = unmarshal[PacketLost](payload)
	case "peer.down":
		e, err = unmarshal[PeerDown](payload)
	case "peer.back":
		e, err = unmarshal[PeerBack](payload)
	case "mail.done":
		e, err = unmarshal[MailDone](payload)
	default:
		return nil, fmt.Errorf("bus: unknown event kind %q", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("bus: decode %s: %w", kind, err)
	}
	return e, nil
}

func unmarshal[E Event](payload []byte) (E, error) {
	var e E
	err := json.Unmarshal(payload, &e)
	return e, err
}

const clfTime = "02/Jan/2006:15:04:05 -0700"

// CommonLog formats the request as a Common Log Format line (no newline):
//
//	127.0.0.1 - - [25/Nov/2026:10:00:00 +0000] "GET /index.html HTTP/1.1" 200 1024
func (r RequestDone) CommonLog() string {
	var b strings.Builder
	b.WriteString(dash(r.RemoteHost))
	b.WriteByte(' ')
	b.WriteString(dash(r.Ident))
	b.WriteByte(' ')
	b.WriteString(dash(r.User))
	b.WriteString(" [")
	b.WriteString(r.Time.Format(clfTime))
	b.WriteString("] \"")
	b.WriteString(escapeLog(r.Method + " " + r.Target + " " + r.Proto))
	b.WriteString("\" ")
	b.WriteString(strconv.Itoa(r.Status))
	b.WriteByte(' ')
	if r.Bytes > 0 {
		b.WriteString(strconv.FormatInt(r.Bytes, 10))
	} else {
		b.WriteByte('-')
	}
	return b.String()
}

// CombinedLog is CommonLog followed by the quoted Referer and User-Agent.
func (r RequestDone) CombinedLog() string {
	return r.CommonLog() + ` "` + escapeLog(dash(r.Referer)) + `" "` + escapeLog(dash(r.UserAgent)) + `"`
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// escapeLog escapes quotes, backslashes and non-printable bytes as nginx
// does (\x22, \xHH), so a hostile request cannot forge log lines.
func escapeLog(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x7f {
			fmt.Fprintf(&b, `\x%02X`, c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
