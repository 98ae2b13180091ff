package proxy

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultAllow is who may use the proxy unless told otherwise: loopback
// only, so the proxy is never open by default.
const DefaultAllow = "127.0.0.0/8,::1/128"

// Allow is the set of client networks the proxy serves (-allow).
type Allow []netip.Prefix

// ParseAllow reads a comma-separated list of CIDR prefixes or single
// addresses, e.g. "127.0.0.0/8,::1/128,192.0.2.7".
func ParseAllow(s string) (Allow, error) {
	var a Allow
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			ip, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("allow: %q is not an address or CIDR prefix", f)
			}
			a = append(a, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("allow: %q is not a CIDR prefix: %w", f, err)
		}
		a = append(a, p.Masked())
	}
	if len(a) == 0 {
		return nil, fmt.Errorf("allow: empty list")
	}
	return a, nil
}

// Permits reports whether a client at addr may use the proxy. An address
// that is not an IP (an in-process network's name) is refused.
func (a Allow) Permits(addr net.Addr) bool {
	var ip netip.Addr
	switch x := addr.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(x.IP)
	default:
		host, _, err := net.SplitHostPort(addr.String())
		if err != nil {
			return false
		}
		ip, _ = netip.ParseAddr(host)
	}
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, p := range a {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Ports is the set of ports CONNECT may reach (-connect-ports).
type Ports map[int]bool

// ParsePorts reads a comma-separated list of ports, e.g. "443,8443".
func ParsePorts(s string) (Ports, error) {
	ps := Ports{}
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("connect-ports: %q is not a port", f)
		}
		ps[n] = true
	}
	return ps, nil
}
