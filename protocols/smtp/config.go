package smtp

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"netstages/actors"
	"netstages/actors/connio"
)

// TLSPolicy says when STARTTLS is used.
type TLSPolicy int

// STARTTLS policies.
const (
	// TLSDefault is TLSRequired when Auth is set, TLSOpportunistic otherwise.
	TLSDefault TLSPolicy = iota
	// TLSRequired ends the session unless STARTTLS succeeds.
	TLSRequired
	// TLSOpportunistic uses STARTTLS when offered and goes on in plain text
	// when not.
	TLSOpportunistic
	// TLSOff never sends STARTTLS.
	TLSOff
)

// String names the policy as smtpsend's -starttls flag does.
func (p TLSPolicy) String() string {
	switch p {
	case TLSRequired:
		return "required"
	case TLSOpportunistic:
		return "opportunistic"
	case TLSOff:
		return "off"
	}
	return "default"
}

// Timeouts bounds the wait for each reply. The defaults are RFC 5321
// §4.5.3.2's minimums.
type Timeouts struct {
	Greeting  time.Duration // initial 220: 5 min
	Mail      time.Duration // MAIL: 5 min
	Rcpt      time.Duration // RCPT: 5 min
	DataInit  time.Duration // DATA → 354: 2 min
	DataBlock time.Duration // each write of message data: 3 min
	DataTerm  time.Duration // final "." → 250: 10 min
	Other     time.Duration // EHLO, STARTTLS, AUTH, RSET, QUIT, TLS handshake: 5 min
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Greeting, 5*time.Minute)
	def(&t.Mail, 5*time.Minute)
	def(&t.Rcpt, 5*time.Minute)
	def(&t.DataInit, 2*time.Minute)
	def(&t.DataBlock, 3*time.Minute)
	def(&t.DataTerm, 10*time.Minute)
	def(&t.Other, 5*time.Minute)
	return t
}

// Auth holds credentials for SMTP AUTH (RFC 4954).
type Auth struct {
	// Mechanism is PLAIN, LOGIN or XOAUTH2; "" picks the first the server
	// offers of XOAUTH2 (only when Token is set), PLAIN, LOGIN.
	Mechanism string
	// Username is the authentication identity.
	Username string
	// Password is used by PLAIN and LOGIN.
	Password string
	// Token is the OAuth 2.0 access token used by XOAUTH2.
	Token string
}

// Config configures a client session.
type Config struct {
	// LocalName is the name sent with EHLO/HELO. Default "localhost".
	// It must be a domain or an address literal ("[192.0.2.1]",
	// "[IPv6:2001:db8::1]"); Dial and NewClient refuse anything else
	// (CheckLocalName) before connecting.
	LocalName string
	// ServerName is the name the server's certificate must carry. Dial
	// sets it from the address when empty.
	ServerName string
	// TLS is the base TLS configuration (RootCAs for a private CA); its
	// ServerName defaults to ServerName. InsecureSkipVerify is honoured but
	// must be asked for explicitly.
	TLS *tls.Config
	// StartTLS is the STARTTLS policy.
	StartTLS TLSPolicy
	// ImplicitTLS starts TLS before the greeting (port 465, RFC 8314).
	ImplicitTLS bool
	// Auth, when not nil, authenticates after STARTTLS. Credentials are
	// never sent without TLS except to a loopback address.
	Auth *Auth
	// NoPipelining turns off RFC 2920 pipelining even when offered.
	NoPipelining bool
	// NoChunking turns off RFC 3030 CHUNKING. When the server offers both
	// PIPELINING and CHUNKING the client sends MAIL, every RCPT, "BDAT n
	// LAST" and the content in one flight and reads the replies after: one
	// round trip per message instead of two (DATA must wait for 354).
	NoChunking bool
	// Fused runs the framer and parser inside the reader's goroutine and
	// the writer inside the session's (actors.Fused): two goroutines
	// instead of five, one hand-off per reply instead of four. The graph
	// and the counts are the same.
	Fused bool
	// Timeouts bounds each wait; zero fields take RFC 5321's values.
	Timeouts Timeouts
	// Trace, when not nil, receives the dialogue line by line, "-> " for
	// what the client sends and "<- " for replies, credentials redacted.
	// It is called from two goroutines.
	Trace func(line string)
	// Meter counts the session's stages; share one among clients.
	Meter *actors.Meter
	// Buffers and Writers lend I/O buffers; share them among clients.
	Buffers *connio.Pool
	Writers *connio.WriterPool
}

func (c Config) withDefaults() Config {
	if c.LocalName == "" {
		c.LocalName = "localhost"
	}
	if c.StartTLS == TLSDefault {
		c.StartTLS = TLSOpportunistic
		if c.Auth != nil {
			c.StartTLS = TLSRequired
		}
	}
	c.Timeouts = c.Timeouts.withDefaults()
	if c.Buffers == nil {
		c.Buffers = connio.NewPool()
	}
	if c.Writers == nil {
		c.Writers = connio.NewWriterPool()
	}
	return c
}

// check refuses a configuration that would put a bad value on the wire.
func (c Config) check() error {
	if c.LocalName == "" {
		return nil // withDefaults supplies "localhost"
	}
	return CheckLocalName(c.LocalName)
}

// CheckLocalName reports whether name can follow EHLO/HELO: a domain
// (RFC 5321 §4.1.2: letters, digits and inner hyphens in dot-separated
// labels of at most 63 octets, 255 in all) or an address literal
// ("[192.0.2.1]", "[IPv6:2001:db8::1]"). CR, LF, NUL, spaces and anything
// else are refused with an error wrapping ErrBadLocalName (house rule 9).
func CheckLocalName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s", ErrBadLocalName, clip(name), why)
	}
	switch {
	case name == "":
		return bad("empty")
	case len(name) > 255:
		return bad("longer than 255 octets")
	case strings.HasPrefix(name, "["):
		return checkAddressLiteral(name, bad)
	}
	for label := range strings.SplitSeq(name, ".") {
		if err := checkLabel(label, bad); err != nil {
			return err
		}
	}
	return nil
}

func checkAddressLiteral(name string, bad func(string) error) error {
	inner, ok := strings.CutSuffix(name[1:], "]")
	if !ok {
		return bad("address literal without a closing ]")
	}
	if v6, ok := strings.CutPrefix(inner, "IPv6:"); ok {
		if a, err := netip.ParseAddr(v6); err == nil && a.Is6() && a.Zone() == "" {
			return nil
		}
		return bad("not an IPv6 address literal")
	}
	if a, err := netip.ParseAddr(inner); err == nil && a.Is4() {
		return nil
	}
	return bad("not an address literal ([192.0.2.1] or [IPv6:2001:db8::1])")
}

func checkLabel(label string, bad func(string) error) error {
	switch {
	case label == "":
		return bad("empty label")
	case len(label) > 63:
		return bad("label longer than 63 octets")
	case label[0] == '-' || label[len(label)-1] == '-':
		return bad("label starts or ends with a hyphen")
	}
	for _, c := range []byte(label) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return bad(fmt.Sprintf("byte %q is not a letter, digit, hyphen or dot", c))
		}
	}
	return nil
}

func (c Config) tlsConfig() *tls.Config {
	t := &tls.Config{}
	if c.TLS != nil {
		t = c.TLS.Clone()
	}
	if t.ServerName == "" {
		t.ServerName = c.ServerName
	}
	return t
}
