package smtp

import (
	"errors"
	"fmt"
	"time"
)

// Error is a negative reply from the server, at the boundary where protocol
// failures become typed errors (house rule 8).
type Error struct {
	// Code is the reply code, 4xx or 5xx.
	Code int
	// Enhanced is the RFC 3463 enhanced status code, zero if none was sent.
	Enhanced EnhancedCode
	// Message is the reply text, lines joined with newlines.
	Message string
	// Command is the command the reply answered, credentials redacted
	// ("" for the greeting).
	Command string
}

// Error formats the reply as the server sent it, with the command it
// answered, and says whether the failure is temporary (4xx) or permanent
// (5xx).
func (e *Error) Error() string {
	s := fmt.Sprintf("%d", e.Code)
	if enh := e.Enhanced.String(); enh != "" {
		s += " " + enh
	}
	if e.Message != "" {
		s += " " + e.Message
	}
	switch {
	case e.Temporary():
		s += " (temporary failure: trying later may work)"
	case e.Permanent():
		s += " (permanent failure)"
	}
	if e.Command != "" {
		return fmt.Sprintf("smtp: %s: server replied %s", e.Command, s)
	}
	return "smtp: server replied " + s
}

// Temporary reports a transient failure (4xx): trying again later may work.
func (e *Error) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

// Permanent reports a permanent failure (5xx): the same request will fail
// again.
func (e *Error) Permanent() bool { return e.Code >= 500 && e.Code < 600 }

func replyError(r Reply, command string) *Error {
	return &Error{Code: r.Code, Enhanced: r.Enhanced, Message: r.Text(), Command: command}
}

// TimeoutError says the server did not answer a command in time.
type TimeoutError struct {
	// Command is what was waiting for a reply ("greeting" for the banner).
	Command string
	// After is the timeout that expired.
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("smtp: no reply to %s within %v", e.Command, e.After)
}

// Timeout reports true, like net.Error.
func (e *TimeoutError) Timeout() bool { return true }

// Temporary reports true: a slow server may answer next time.
func (e *TimeoutError) Temporary() bool { return true }

// Errors of the client itself.
var (
	// ErrClosed is returned by Send after the session has ended.
	ErrClosed = errors.New("smtp: session closed")
	// ErrNoStartTLS means STARTTLS is required but the server does not offer it.
	ErrNoStartTLS = errors.New("smtp: server does not offer STARTTLS and it is required")
	// ErrInsecureAuth means credentials would travel unencrypted to a server
	// that is not on a loopback address.
	ErrInsecureAuth = errors.New("smtp: refusing to send credentials without TLS to a non-loopback server")
	// ErrNoAuthMechanism means the server offers none of the mechanisms the
	// client can use.
	ErrNoAuthMechanism = errors.New("smtp: no common AUTH mechanism")
	// ErrTooBig means the message is over the server's SIZE limit.
	ErrTooBig = errors.New("smtp: message larger than the server accepts")
	// ErrLineTooLong means a message line is over 998 octets (RFC 5321
	// §4.5.3.1.6); encode the body (quoted-printable, base64) instead.
	ErrLineTooLong = errors.New("smtp: message line longer than 998 octets")
	// ErrBadLine means a command argument holds CR, LF or another byte that
	// cannot go on an SMTP line.
	ErrBadLine = errors.New("smtp: CR, LF or control character in a command argument")
	// ErrBadLocalName means Config.LocalName is not a domain or an address
	// literal (it could hold CR, LF or a space and smuggle a command).
	ErrBadLocalName = errors.New("smtp: bad EHLO/HELO name")
	// ErrNeedsSMTPUTF8 means an address is not ASCII and the server lacks
	// SMTPUTF8.
	ErrNeedsSMTPUTF8 = errors.New("smtp: non-ASCII address and the server does not offer SMTPUTF8")
	// ErrNoRecipients means a message has no recipients.
	ErrNoRecipients = errors.New("smtp: no recipients")
	// ErrSTARTTLSInjection means the server sent more after its reply to
	// STARTTLS, which could be injected plaintext (CVE-2011-0411's pattern).
	ErrSTARTTLSInjection = errors.New("smtp: server sent data after its STARTTLS reply")
)
