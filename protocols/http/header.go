package http

import "strings"

// Field is one header field as it came off (or goes onto) the wire: the name
// keeps its original case, the value has its surrounding whitespace trimmed.
type Field struct {
	Name  string
	Value string
}

// Header is an ordered list of fields, used for requests and responses alike.
// It keeps wire order and the original case of names; lookups compare names
// case-insensitively. The zero value is an empty header ready to use. A
// Header is not safe for concurrent mutation.
type Header []Field

// Get returns the value of the first field named name, or "".
func (h Header) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Has reports whether a field named name is present.
func (h Header) Has(name string) bool {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// Values returns the values of every field named name, in wire order.
func (h Header) Values(name string) []string {
	var vs []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Count returns how many fields are named name.
func (h Header) Count(name string) int {
	n := 0
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			n++
		}
	}
	return n
}

// Add appends a field. It does not check the name or value; use
// ValidFieldName and ValidFieldValue on anything that came from outside.
func (h *Header) Add(name, value string) { *h = append(*h, Field{Name: name, Value: value}) }

// Set replaces the first field named name with value, drops the others of
// that name, or appends the field if there is none.
func (h *Header) Set(name, value string) {
	for i, f := range *h {
		if strings.EqualFold(f.Name, name) {
			(*h)[i].Value = value
			rest := (*h)[i+1:].del(name)
			*h = (*h)[:i+1+len(rest)]
			return
		}
	}
	h.Add(name, value)
}

// Del removes every field named name, keeping the order of the others.
func (h *Header) Del(name string) { *h = h.del(name) }

func (h Header) del(name string) Header {
	out := h[:0]
	for _, f := range h {
		if !strings.EqualFold(f.Name, name) {
			out = append(out, f)
		}
	}
	clear(h[len(out):])
	return out
}

// Clone returns a copy that shares nothing with h.
func (h Header) Clone() Header {
	if h == nil {
		return nil
	}
	return append(Header(nil), h...)
}

// HasToken reports whether any field named name holds token in its
// comma-separated list, compared case-insensitively (as in
// "Connection: keep-alive, close").
func (h Header) HasToken(name, token string) bool {
	for _, f := range h {
		if !strings.EqualFold(f.Name, name) {
			continue
		}
		for v := range strings.SplitSeq(f.Value, ",") {
			if strings.EqualFold(strings.Trim(v, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// AppendTo appends the fields in wire form ("Name: value\r\n" each).
func (h Header) AppendTo(dst []byte) []byte {
	for _, f := range h {
		dst = AppendField(dst, f.Name, f.Value)
	}
	return dst
}

// ValidFieldName reports whether s is a token (RFC 9110 §5.1).
func ValidFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

// ValidFieldValue reports whether s may be sent as a field value: visible
// ASCII, obs-text, space and tab, and no CR, LF, NUL or other control
// (RFC 9110 §5.5; house rule 9).
func ValidFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isFieldByte(s[i]) {
			return false
		}
	}
	return true
}

// isTchar: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "."
// / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
func isTchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isFieldByte: field-vchar / SP / HTAB.
func isFieldByte(c byte) bool {
	return c == '\t' || c >= 0x20 && c != 0x7f
}
