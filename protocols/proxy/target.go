package proxy

import (
	"errors"
	"net"
	"strconv"
	"strings"
)

// Target is where a proxied request goes: an http origin and the
// origin-form path to ask it for.
type Target struct {
	// Host is the origin's host name or IP literal, lower case, without
	// brackets.
	Host string
	// Port is the origin's TCP port.
	Port int
	// Path is the origin-form request target: absolute path and query.
	Path string
}

// Addr returns "host:port" for dialing.
func (t Target) Addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// Authority returns the Host field for the upstream request: the port is
// left out when it is the default (RFC 9110 §7.2).
func (t Target) Authority() string {
	h := t.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if t.Port == 80 {
		return h
	}
	return h + ":" + strconv.Itoa(t.Port)
}

// Key is the cache's primary key: the normalized target URI (RFC 9111 §2,
// normalized per RFC 9110 §4.2.3: lower-case scheme and host, default port
// left out, empty path as "/").
func (t Target) Key() string { return "http://" + t.Authority() + t.Path }

// Errors from ParseTarget.
var (
	ErrNotProxyRequest = errors.New("request target is not an absolute http:// URI (this is a proxy)")
	ErrScheme          = errors.New("only http:// targets are forwarded; use CONNECT for https")
	ErrBadHost         = errors.New("bad host in request target")
	ErrBadPort         = errors.New("bad port in request target")
	ErrUserinfo        = errors.New("userinfo in request target is not allowed")
)

// ParseTarget reads the target of a proxied request: absolute-form
// ("http://host:port/path?q", RFC 9112 §3.2.2) as browsers and curl -x send
// it, or path-form ("/http://host:port/path") for clients with no proxy
// settings. The scheme and host are case-insensitive, the port defaults to
// 80, a fragment is dropped. Host names keep every character they have (no
// prefix stripping: "httpbin.org" stays "httpbin.org").
func ParseTarget(target string) (Target, error) {
	target = strings.TrimPrefix(target, "/") // path-form
	const scheme = "http://"
	if len(target) < len(scheme) || !strings.EqualFold(target[:len(scheme)], scheme) {
		if len(target) >= 8 && strings.EqualFold(target[:8], "https://") {
			return Target{}, ErrScheme
		}
		return Target{}, ErrNotProxyRequest
	}
	rest := target[len(scheme):]
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, path := rest[:end], rest[end:]
	if strings.HasPrefix(path, "?") {
		path = "/" + path
	}
	if path == "" {
		path = "/"
	}
	if !validPath(path) {
		return Target{}, ErrNotProxyRequest
	}
	host, port, err := ParseAuthority(authority, 80)
	if err != nil {
		return Target{}, err
	}
	return Target{Host: host, Port: port, Path: path}, nil
}

// ParseAuthority reads "host[:port]" (an IPv6 literal in brackets), as in a
// URI or a CONNECT target (RFC 9112 §3.2.3); defaultPort is used when the
// port is absent (-1: the port is required).
func ParseAuthority(a string, defaultPort int) (host string, port int, err error) {
	if strings.Contains(a, "@") {
		return "", 0, ErrUserinfo
	}
	host, portStr := a, ""
	if strings.HasPrefix(a, "[") {
		i := strings.IndexByte(a, ']')
		if i < 0 {
			return "", 0, ErrBadHost
		}
		host, portStr = a[1:i], a[i+1:]
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil && !strings.Contains(host, ":") {
			return "", 0, ErrBadHost
		}
		if portStr != "" && !strings.HasPrefix(portStr, ":") {
			return "", 0, ErrBadHost
		}
		portStr = strings.TrimPrefix(portStr, ":")
	} else if i := strings.LastIndexByte(a, ':'); i >= 0 {
		host, portStr = a[:i], a[i+1:]
		if !validRegName(host) {
			return "", 0, ErrBadHost
		}
	} else if !validRegName(host) {
		return "", 0, ErrBadHost
	}
	if host == "" {
		return "", 0, ErrBadHost
	}
	port = defaultPort
	if portStr != "" || defaultPort < 0 {
		port, err = strconv.Atoi(portStr)
		if err != nil || port < 1 || port > 65535 || portStr[0] == '+' {
			return "", 0, ErrBadPort
		}
	}
	return strings.ToLower(host), port, nil
}

// validRegName accepts a URI reg-name (RFC 3986 §3.2.2: unreserved,
// pct-encoded, sub-delims), which includes IPv4 literals.
func validRegName(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~%!$&'()*+,;=", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validPath refuses bytes that may not appear in a request target: controls,
// space, and anything outside visible ASCII (house rule 9).
func validPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] <= ' ' || p[i] >= 0x7f {
			return false
		}
	}
	return true
}
