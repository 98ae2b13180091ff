package proxy_test

import (
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/matryer/is"

	"netstages/protocols/proxy"
)

func TestParseTarget(t *testing.T) {
	cases := []struct {
		in                 string
		host               string
		port               int
		path, key, hostHdr string
		err                error
	}{
		{"http://httpbin.org/get", "httpbin.org", 80, "/get", "http://httpbin.org/get", "httpbin.org", nil},  // SEED: lstrip mangled this
		{"/http://httpbin.org/get", "httpbin.org", 80, "/get", "http://httpbin.org/get", "httpbin.org", nil}, // path-form
		{"HTTP://Example.ORG:8080", "example.org", 8080, "/", "http://example.org:8080/", "example.org:8080", nil},
		{"http://h:80/a?b=c#frag", "h", 80, "/a?b=c", "http://h/a?b=c", "h", nil},
		{"http://h?q", "h", 80, "/?q", "http://h/?q", "h", nil},
		{"http://[::1]:8888/x", "::1", 8888, "/x", "http://[::1]:8888/x", "[::1]:8888", nil},
		{"http://127.0.0.1:1/", "127.0.0.1", 1, "/", "http://127.0.0.1:1/", "127.0.0.1:1", nil},
		{"https://h/", "", 0, "", "", "", proxy.ErrScheme},
		{"/index.html", "", 0, "", "", "", proxy.ErrNotProxyRequest},
		{"ftp://h/", "", 0, "", "", "", proxy.ErrNotProxyRequest},
		{"http://user:pw@h/", "", 0, "", "", "", proxy.ErrUserinfo},
		{"http:///x", "", 0, "", "", "", proxy.ErrBadHost},
		{"http://h:0/", "", 0, "", "", "", proxy.ErrBadPort},
		{"http://h:65536/", "", 0, "", "", "", proxy.ErrBadPort},
		{"http://h:+80/", "", 0, "", "", "", proxy.ErrBadPort},
		{"http://h:/", "h", 80, "/", "http://h/", "h", nil}, // RFC 3986 §3.2.3: empty port is the default
		{"http://h\r\nX: y/", "", 0, "", "", "", proxy.ErrBadHost},
		{"http://h/a b", "", 0, "", "", "", proxy.ErrNotProxyRequest},
		{"http://[1.2.3.4]/", "", 0, "", "", "", proxy.ErrBadHost},
		{"http://[::1/", "", 0, "", "", "", proxy.ErrBadHost},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			is := is.New(t)
			tg, err := proxy.ParseTarget(c.in)
			is.Equal(err, c.err) // error
			if err != nil {
				return
			}
			is.Equal(tg.Host, c.host)
			is.Equal(tg.Port, c.port)
			is.Equal(tg.Path, c.path)
			is.Equal(tg.Key(), c.key)
			is.Equal(tg.Authority(), c.hostHdr)
		})
	}
}

func TestParseAuthorityForConnect(t *testing.T) {
	is := is.New(t)
	h, p, err := proxy.ParseAuthority("Example.com:443", -1)
	is.NoErr(err)
	is.Equal(h, "example.com")
	is.Equal(p, 443)
	_, _, err = proxy.ParseAuthority("example.com", -1)
	is.Equal(err, proxy.ErrBadPort) // CONNECT needs a port
}

// FuzzParseTarget checks that an accepted target yields a dialable address
// and a key that net/url agrees with, and never a CR, LF or space.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"http://a/b", "/http://a:1/b?c", "http://[::1]:2/", "HTTP://A", "http://a@b/", "http://a:99999/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := proxy.ParseTarget(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(tg.Key(), " \r\n\t") {
			t.Fatalf("key %q has whitespace", tg.Key())
		}
		if tg.Port < 1 || tg.Port > 65535 || tg.Host == "" || !strings.HasPrefix(tg.Path, "/") {
			t.Fatalf("bad target %+v from %q", tg, s)
		}
		host, _, err := net.SplitHostPort(tg.Addr())
		if err != nil || host != tg.Host {
			t.Fatalf("addr %q does not split back to %q", tg.Addr(), tg.Host)
		}
		u, err := url.Parse(tg.Key())
		if err == nil && u.Hostname() != tg.Host && !strings.Contains(tg.Host, "%") {
			t.Fatalf("net/url reads host %q, we read %q (from %q)", u.Hostname(), tg.Host, s)
		}
	})
}

func TestAllow(t *testing.T) {
	is := is.New(t)
	a, err := proxy.ParseAllow(proxy.DefaultAllow)
	is.NoErr(err)
	is.True(a.Permits(&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 5}))        // loopback v4
	is.True(a.Permits(&net.TCPAddr{IP: net.ParseIP("::1"), Port: 5}))              // loopback v6
	is.True(a.Permits(&net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.9"), Port: 5})) // v4-mapped
	is.True(!a.Permits(&net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 5}))        // not open by default
	is.True(!a.Permits(fakeAddr("client:1")))                                      // not an IP
	b, err := proxy.ParseAllow("10.0.0.0/8, 192.0.2.7")
	is.NoErr(err)
	is.True(b.Permits(fakeAddr("10.9.9.9:1")))
	is.True(b.Permits(fakeAddr("192.0.2.7:1")))
	is.True(!b.Permits(fakeAddr("192.0.2.8:1")))
	for _, bad := range []string{"", "10.0.0.0/33", "nonsense", ","} {
		_, err := proxy.ParseAllow(bad)
		is.True(err != nil) // rejected
	}
	ps, err := proxy.ParsePorts("443, 8443")
	is.NoErr(err)
	is.True(ps[443] && ps[8443] && !ps[80])
	_, err = proxy.ParsePorts("0")
	is.True(err != nil) // not a port
}

type fakeAddr string

func (a fakeAddr) Network() string { return "fake" }
func (a fakeAddr) String() string  { return string(a) }
