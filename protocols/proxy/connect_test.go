package proxy_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/protocols/proxy"
)

func portOf(t *testing.T, addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

func TestConnectTunnelToTLSOrigin(t *testing.T) {
	is := is.New(t)
	tlsOrigin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secret over TLS")
	}))
	defer tlsOrigin.Close()
	port := portOf(t, tlsOrigin.Listener.Addr().String())
	p := startProxy(t, func(c *proxy.Config) { c.ConnectPorts = proxy.Ports{port: true} })
	c := p.client(t)
	c.Transport.(*http.Transport).TLSClientConfig = tlsOrigin.Client().Transport.(*http.Transport).TLSClientConfig
	for range 2 {
		resp, body := get(t, c, tlsOrigin.URL+"/")
		is.Equal(resp.StatusCode, 200)
		is.Equal(body, "secret over TLS") // through the tunnel, end to end TLS
	}
	is.Equal(p.stats.Tunnels.Load(), uint64(1)) // one tunnel, kept alive
}

func TestConnectToPortNotAllowedIs403(t *testing.T) {
	is := is.New(t)
	p := startProxy(t, nil) // default: 443 only
	c, err := net.Dial("tcp", p.addr)
	is.NoErr(err)
	defer c.Close()
	io.WriteString(c, "CONNECT 127.0.0.1:25 HTTP/1.1\r\nHost: 127.0.0.1:25\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	is.NoErr(err)
	is.Equal(resp.StatusCode, 403)
}

// TestConnectHalfClose: the client sends, then half-closes; the origin
// sees EOF, answers, and closes; the client reads the whole answer.
func TestConnectHalfClose(t *testing.T) {
	is := is.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		n, _ := io.Copy(io.Discard, c) // until the client's half-close arrives
		fmt.Fprintf(c, "origin got %d bytes", n)
	}()
	p := startProxy(t, func(c *proxy.Config) { c.ConnectPorts = proxy.Ports{portOf(t, ln.Addr().String()): true} })
	c, err := net.Dial("tcp", p.addr)
	is.NoErr(err)
	defer c.Close()
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", ln.Addr(), ln.Addr())
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	is.NoErr(err)
	is.Equal(resp.StatusCode, 200)
	payload := strings.Repeat("x", 100000)
	_, err = io.WriteString(c, payload)
	is.NoErr(err)
	is.NoErr(c.(*net.TCPConn).CloseWrite()) // half-close
	rest, err := io.ReadAll(br)
	is.NoErr(err)
	is.Equal(string(rest), "origin got 100000 bytes") // the other half still worked
	waitFor(t, func() bool { return p.srv.Active() == 0 })
}

// curl drives the proxy as a user would: -x (absolute-form), path-form,
// and -p (CONNECT) to a TLS origin whose certificate the test made.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is needed (Makefile DEB_PACKAGES installs it)")
	}
	is := is.New(t)
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "via curl "+r.URL.Path)
	})
	tlsOrigin := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "tls via curl")
	}))
	cert, certPEM := selfSigned(t)
	tlsOrigin.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	tlsOrigin.StartTLS()
	defer tlsOrigin.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	is.NoErr(os.WriteFile(ca, certPEM, 0o600))
	p := startProxy(t, func(c *proxy.Config) {
		c.ConnectPorts = proxy.Ports{portOf(t, tlsOrigin.Listener.Addr().String()): true}
	})
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(curl, append([]string{"-sS", "--max-time", "10", "-D", "-"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return strings.ReplaceAll(string(out), "\r\n", "\n")
	}
	out := run("-x", "http://"+p.addr, o.url+"/one")
	is.True(strings.Contains(out, "X-Cache: MISS")) // first time
	is.True(strings.HasSuffix(out, "via curl /one"))
	out = run("-x", "http://"+p.addr, o.url+"/one")
	is.True(strings.Contains(out, "X-Cache: HIT")) // then from the cache
	out = run("http://" + p.addr + "/" + o.url + "/two")
	is.True(strings.HasSuffix(out, "via curl /two")) // path-form
	upload := filepath.Join(t.TempDir(), "upload")
	is.NoErr(os.WriteFile(upload, []byte(strings.Repeat("u", 2<<20)), 0o600))
	out = run("-x", "http://"+p.addr, "--data-binary", "@"+upload, o.url+"/up")
	is.True(strings.Contains(out, "HTTP/1.1 100 Continue")) // curl asked (Expect: 100-continue) and was told to go on
	is.True(strings.HasSuffix(out, "via curl /up"))
	out = run("-p", "-x", "http://"+p.addr, "--cacert", ca, tlsOrigin.URL+"/")
	is.True(strings.HasSuffix(out, "tls via curl")) // CONNECT tunnel, certificate checked
	is.Equal(o.count.Load(), int64(3))
}

// selfSigned makes a certificate for 127.0.0.1, valid for an hour, that
// curl is told to trust with --cacert.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "netstages proxy test origin"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM
}

func TestConnectToDeadPortIs502AndCloses(t *testing.T) {
	is := is.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	dead := ln.Addr().String()
	ln.Close()
	p := startProxy(t, func(c *proxy.Config) { c.ConnectPorts = proxy.Ports{portOf(t, dead): true} })
	c, err := net.Dial("tcp", p.addr)
	is.NoErr(err)
	defer c.Close()
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", dead, dead)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	is.NoErr(err)
	is.Equal(resp.StatusCode, 502)
	is.True(resp.Close) // Connection: close
	_, err = io.ReadAll(br)
	is.NoErr(err) // and the proxy does close
}
