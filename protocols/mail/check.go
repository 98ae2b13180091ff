package mail

import (
	"fmt"
	netmail "net/mail"
	"strings"
)

// check refuses a message that would make bad headers: CR, LF or other
// control characters anywhere in a header value, bad addresses, names that
// are too long.
func check(m *Message) error {
	if m.From.Address == "" {
		return ErrNoFrom
	}
	fields := map[string]string{"Subject": m.Subject, "Message-ID": m.MessageID}
	for _, list := range [][]netmail.Address{{m.From}, m.To, m.Cc, m.Bcc} {
		for _, a := range list {
			if err := checkAddress(a); err != nil {
				return err
			}
		}
	}
	for name, v := range fields {
		if err := checkValue(name, v); err != nil {
			return err
		}
	}
	if len(m.Subject) > MaxSubject {
		return fmt.Errorf("%w: subject of %d bytes", ErrTooLong, len(m.Subject))
	}
	if strings.ContainsAny(m.MessageID, "<> ") {
		return fmt.Errorf("%w: Message-ID %q", ErrBadAddress, m.MessageID)
	}
	for _, a := range m.Attachments {
		if err := checkValue("attachment filename", a.Filename); err != nil {
			return err
		}
		if err := checkValue("attachment content type", a.ContentType); err != nil {
			return err
		}
		if a.Filename == "" || len(a.Filename) > MaxFilename || strings.ContainsAny(a.Filename, `/\`) {
			return fmt.Errorf("%w: attachment filename %q (1 to %d bytes, no directories)", ErrTooLong, a.Filename, MaxFilename)
		}
		if _, _, err := a.contentType(); err != nil {
			return err
		}
	}
	return nil
}

func checkValue(name, v string) error {
	for _, c := range []byte(v) {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return fmt.Errorf("%w: %s %q", ErrHeaderInjection, name, v)
		}
	}
	return nil
}

// checkAddress checks that a is a single valid address with nothing that
// could break its header.
func checkAddress(a netmail.Address) error {
	if err := checkValue("address", a.Address); err != nil {
		return err
	}
	if err := checkValue("display name", a.Name); err != nil {
		return err
	}
	parsed, err := netmail.ParseAddress("<" + a.Address + ">")
	if err != nil || parsed.Address != a.Address {
		return fmt.Errorf("%w: %q", ErrBadAddress, a.Address)
	}
	return nil
}

// ParseAddressList parses "Name <a@b>, c@d" into addresses, for callers
// that take addresses as text (smtpsend's flags).
func ParseAddressList(s string) ([]netmail.Address, error) {
	list, err := netmail.ParseAddressList(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrBadAddress, s, err)
	}
	out := make([]netmail.Address, len(list))
	for i, a := range list {
		out[i] = *a
	}
	return out, nil
}
