package smtp

import (
	"strconv"
	"strings"
)

// Extensions is what a server announced in its EHLO reply (RFC 5321 §4.1.1.1).
type Extensions struct {
	// Domain is the server's name from the first line.
	Domain string
	// Keywords maps each upper-cased keyword to its parameters.
	Keywords map[string]string
	// Size is the SIZE limit in octets (RFC 1870); 0 when none is stated.
	Size int64
	// Auth lists the SASL mechanisms offered (RFC 4954), upper case.
	Auth []string
}

// ParseExtensions reads an EHLO reply's lines (code already removed): the
// first is the server's greeting, each further line a keyword with optional
// parameters. Unknown or malformed lines are kept as keywords or ignored,
// never an error: a server's odd extension must not stop a session.
func ParseExtensions(lines []string) Extensions {
	ext := Extensions{Keywords: map[string]string{}}
	if len(lines) == 0 {
		return ext
	}
	ext.Domain, _, _ = strings.Cut(lines[0], " ")
	for _, line := range lines[1:] {
		kw, params, _ := strings.Cut(strings.TrimSpace(line), " ")
		kw = strings.ToUpper(kw)
		if kw == "" || !isKeyword(kw) {
			continue
		}
		params = strings.TrimSpace(params)
		ext.Keywords[kw] = params
		switch kw {
		case "SIZE":
			if n, err := strconv.ParseInt(params, 10, 64); err == nil && n > 0 {
				ext.Size = n
			}
		case "AUTH":
			for _, m := range strings.Fields(params) {
				ext.Auth = append(ext.Auth, strings.ToUpper(m))
			}
		}
	}
	return ext
}

// isKeyword checks RFC 5321's ehlo-keyword: ALPHA / DIGIT then
// ALPHA / DIGIT / "-".
func isKeyword(s string) bool {
	for i, c := range []byte(s) {
		alnum := c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '-') {
			return false
		}
	}
	return true
}

// Has reports whether the server announced keyword (any case).
func (e Extensions) Has(keyword string) bool {
	_, ok := e.Keywords[strings.ToUpper(keyword)]
	return ok
}

// HasAuth reports whether the server offers the SASL mechanism.
func (e Extensions) HasAuth(mech string) bool {
	for _, m := range e.Auth {
		if m == strings.ToUpper(mech) {
			return true
		}
	}
	return false
}
