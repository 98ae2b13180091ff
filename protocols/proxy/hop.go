package proxy

import (
	nethttp "net/http"
	"strings"

	wire "netstages/protocols/http"
)

// hopByHop are the fields that describe one connection, not the message,
// and are never forwarded (RFC 9110 §7.6.1), plus Transfer-Encoding and
// Content-Length, which the proxy sets itself for each hop's framing.
func hopByHop(name string) bool {
	switch strings.ToLower(name) {
	case "connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate",
		"te", "trailer", "upgrade", "transfer-encoding", "content-length":
		return true
	}
	return false
}

// EndToEnd returns h without its hop-by-hop fields: the fixed list and
// every field the Connection field names (RFC 9110 §7.6.1). h is not
// changed.
func EndToEnd(h wire.Header) wire.Header {
	var named []string
	for _, v := range h.Values("Connection") {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				named = append(named, tok)
			}
		}
	}
	out := make(wire.Header, 0, len(h))
next:
	for _, f := range h {
		if hopByHop(f.Name) {
			continue
		}
		for _, n := range named {
			if strings.EqualFold(f.Name, n) {
				continue next
			}
		}
		out = append(out, f)
	}
	return out
}

// viaValue is the Via field after this proxy: the received value (if any)
// with "1.1 name" appended (RFC 9110 §7.6.3).
func viaValue(h wire.Header, name string) string {
	mine := "1.1 " + name
	if prev := strings.Join(h.Values("Via"), ", "); prev != "" {
		return prev + ", " + mine
	}
	return mine
}

// stdHeader converts to net/http's map form, which the cache uses.
func stdHeader(h wire.Header) nethttp.Header {
	std := make(nethttp.Header, len(h))
	for _, f := range h {
		k := nethttp.CanonicalHeaderKey(f.Name)
		std[k] = append(std[k], f.Value)
	}
	return std
}
