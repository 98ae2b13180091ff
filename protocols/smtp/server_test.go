package smtp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// testCA is a certificate authority made for one test, and a server
// certificate it signed for 127.0.0.1 and localhost.
type testCA struct {
	Roots  *x509.CertPool
	Server tls.Certificate
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, leafKey := key(), key()
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "netstages test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	return testCA{Roots: roots, Server: tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}}
}

// received is one message the test server accepted.
type received struct {
	From string
	To   []string
	Data []byte
	User string // who authenticated
	TLS  bool
	Opts gosmtp.MailOptions
}

// backend is a scripted go-smtp backend: it stores what arrives and fails
// where the test says.
type backend struct {
	mu       sync.Mutex
	msgs     []received
	sessions int
	// Failures, all optional.
	rejectRcpt map[string]*gosmtp.SMTPError
	mailErr    *gosmtp.SMTPError
	dataErr    *gosmtp.SMTPError
	greetErr   *gosmtp.SMTPError
	// slowRcpt, when not nil, holds every RCPT until it is closed.
	slowRcpt chan struct{}
	// users maps username to password (PLAIN, LOGIN) and token (XOAUTH2).
	users map[string]string
	mechs []string
}

func (b *backend) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	b.mu.Lock()
	b.sessions++
	b.mu.Unlock()
	if b.greetErr != nil {
		return nil, b.greetErr
	}
	return &session{b: b, conn: c}, nil
}

func (b *backend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type session struct {
	b    *backend
	conn *gosmtp.Conn
	user string
	cur  received
}

func (s *session) AuthMechanisms() []string {
	if s.b.users == nil {
		return nil
	}
	if s.b.mechs != nil {
		return s.b.mechs
	}
	return []string{sasl.Plain, sasl.Login, "XOAUTH2"}
}

func (s *session) check(user, secret string) error {
	if want, ok := s.b.users[user]; ok && want == secret {
		s.user = user
		return nil
	}
	return gosmtp.ErrAuthFailed
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return s.check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: s.check}, nil
	case "XOAUTH2":
		return &xoauth2Server{check: s.check}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, opts *gosmtp.MailOptions) error {
	if s.b.mailErr != nil {
		return s.b.mailErr
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur = received{From: from, User: s.user, TLS: isTLS}
	if opts != nil {
		s.cur.Opts = *opts
	}
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if s.b.slowRcpt != nil {
		<-s.b.slowRcpt
	}
	if e := s.b.rejectRcpt[to]; e != nil {
		return e
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.b.dataErr != nil {
		return s.b.dataErr
	}
	s.cur.Data = data
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

// loginServer is the server side of SASL LOGIN.
type loginServer struct {
	check func(user, pass string) error
	user  string
	step  int
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(resp))
}

// xoauth2Server is the server side of XOAUTH2: on failure a 334 with a JSON
// error, then the error after the client's empty answer.
type xoauth2Server struct {
	check  func(user, token string) error
	failed error
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.failed != nil {
		return nil, true, x.failed
	}
	parts := strings.Split(string(resp), "\x01")
	var user, token string
	for _, p := range parts {
		if v, ok := strings.CutPrefix(p, "user="); ok {
			user = v
		}
		if v, ok := strings.CutPrefix(p, "auth=Bearer "); ok {
			token = v
		}
	}
	if err := x.check(user, token); err != nil {
		x.failed = err
		return []byte(`{"status":"401","schemes":"bearer"}`), false, nil
	}
	return nil, true, nil
}

// serverOpts configures startServer.
type serverOpts struct {
	tls     *testCA
	maxSize int64
	ln      net.Listener // default: 127.0.0.1:0
}

// startServer runs a go-smtp server for one test and stops it at cleanup.
func startServer(t *testing.T, b *backend, o serverOpts) string {
	t.Helper()
	s := gosmtp.NewServer(b)
	s.Domain = "mx.test"
	s.AllowInsecureAuth = true // so the loopback and refusal paths can be tested without TLS too
	// go-smtp v0.25.1 panics (and recovers) when it processes a pipelined DATA
	// after the client hung up during RCPT; keep its log quiet.
	s.ErrorLog = log.New(io.Discard, "", 0)
	s.MaxMessageBytes = o.maxSize
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.EnableSMTPUTF8 = true
	if o.tls != nil {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{o.tls.Server}}
	}
	ln := o.ln
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil && !errors.Is(err, gosmtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}
