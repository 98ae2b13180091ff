package smtptest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// CA is a certificate authority made for one run, and a server certificate
// it signed for 127.0.0.1 and localhost, valid for an hour.
type CA struct {
	// Roots holds the CA certificate, for a client's tls.Config.
	Roots *x509.CertPool
	// CertPEM is the CA certificate in PEM, for smtpsend -ca-file.
	CertPEM []byte
	// Server is the server's certificate and key.
	Server tls.Certificate
}

// NewCA makes a CA and a server certificate.
func NewCA() (CA, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return CA{}, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return CA{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "netstages test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return CA{}, fmt.Errorf("smtptest: CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return CA{}, fmt.Errorf("smtptest: CA: %w", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return CA{}, fmt.Errorf("smtptest: server certificate: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	return CA{
		Roots:   roots,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Server:  tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey},
	}, nil
}

// ServerTLS is a server tls.Config with the CA's server certificate.
func (ca CA) ServerTLS() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{ca.Server}}
}

// Received is one message the server accepted.
type Received struct {
	From string
	To   []string
	Data []byte
	User string // who authenticated, "" for nobody
	TLS  bool   // whether the session was encrypted
	Opts gosmtp.MailOptions
}

// Backend is a scripted go-smtp backend. Set its fields before the server
// starts.
type Backend struct {
	// RejectRcpt refuses these recipients with the given replies.
	RejectRcpt map[string]*gosmtp.SMTPError
	// MailErr, DataErr and GreetErr, when set, are the replies to every
	// MAIL, every end of data, and EHLO/HELO.
	MailErr, DataErr, GreetErr *gosmtp.SMTPError
	// SlowRcpt, when not nil, holds every RCPT until it is closed.
	SlowRcpt chan struct{}
	// Users maps a username to its password (PLAIN, LOGIN) or token
	// (XOAUTH2); nil offers no AUTH.
	Users map[string]string
	// Mechs overrides the mechanisms offered (default PLAIN LOGIN XOAUTH2).
	Mechs []string
	// Discard keeps only a count of messages, not their content (a sink).
	Discard bool

	mu       sync.Mutex
	msgs     []Received
	count    int
	sessions int
}

// NewSession is called by go-smtp at EHLO/HELO.
func (b *Backend) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	b.mu.Lock()
	b.sessions++
	b.mu.Unlock()
	if b.GreetErr != nil {
		return nil, b.GreetErr
	}
	return &session{b: b, conn: c}, nil
}

// Messages returns the messages accepted so far (none when Discard).
func (b *Backend) Messages() []Received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Received(nil), b.msgs...)
}

// Count returns how many messages were accepted.
func (b *Backend) Count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.count
}

// Sessions returns how many sessions greeted.
func (b *Backend) Sessions() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sessions
}

type session struct {
	b    *Backend
	conn *gosmtp.Conn
	user string
	cur  Received
}

func (s *session) AuthMechanisms() []string {
	if s.b.Users == nil {
		return nil
	}
	if s.b.Mechs != nil {
		return s.b.Mechs
	}
	return []string{sasl.Plain, sasl.Login, "XOAUTH2"}
}

func (s *session) check(user, secret string) error {
	if want, ok := s.b.Users[user]; ok && want == secret {
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
	if s.b.MailErr != nil {
		return s.b.MailErr
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur = Received{From: from, User: s.user, TLS: isTLS}
	if opts != nil {
		s.cur.Opts = *opts
	}
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if s.b.SlowRcpt != nil {
		<-s.b.SlowRcpt
	}
	if e := s.b.RejectRcpt[to]; e != nil {
		return e
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	if s.b.Discard {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
		s.b.mu.Lock()
		s.b.count++
		s.b.mu.Unlock()
		return nil
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.b.DataErr != nil {
		return s.b.DataErr
	}
	s.cur.Data = data
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.count++
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = Received{} }
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
	var user, token string
	for _, p := range strings.Split(string(resp), "\x01") {
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

// Options configures Start.
type Options struct {
	// TLS enables STARTTLS with this configuration.
	TLS *tls.Config
	// MaxMessageBytes is announced with SIZE (0: no limit).
	MaxMessageBytes int64
}

// Start serves b on ln with go-smtp until the returned stop is called; stop
// closes the listener, gives open sessions a moment to end by themselves,
// then closes every connection and waits for Serve to return.
// Plain-text AUTH is allowed so that the client's own refusal can be tested.
func Start(ln net.Listener, b *Backend, o Options) (stop func() error) {
	s := gosmtp.NewServer(b)
	s.Domain = "mx.test"
	s.AllowInsecureAuth = true
	s.MaxMessageBytes = o.MaxMessageBytes
	s.ReadTimeout = time.Minute
	s.WriteTimeout = time.Minute
	s.EnableSMTPUTF8 = true
	s.TLSConfig = o.TLS
	// go-smtp v0.25.1 panics (and recovers) when it handles a pipelined DATA
	// after the client hung up during RCPT; keep its log quiet.
	s.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan error, 1)
	tl := &trackingListener{Listener: ln, conns: make(map[net.Conn]struct{})}
	go func() { done <- s.Serve(tl) }()
	return func() error {
		// go-smtp v0.25.1's Conn.Close clears the BDAT pipe under its lock
		// while the connection's goroutine reads it without: closing a
		// session in the middle of BDAT is a data race inside go-smtp. So
		// stop gracefully first (the clients have hung up by then), and
		// force only sessions still open after a second by closing their
		// sockets (Close after Shutdown does nothing in go-smtp).
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if s.Shutdown(ctx) != nil {
			tl.closeAll()
		}
		// Shutdown closes only the listeners Serve has registered: a stop
		// that comes before Serve has begun would leave it in Accept for
		// ever. Closing the listener here too ends it either way.
		ln.Close()
		err := <-done
		if errors.Is(err, gosmtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
			return nil
		}
		return err
	}
}

// trackingListener remembers the connections it accepted so that stop can
// close those still open.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Accept accepts and remembers a connection.
func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns[c] = struct{}{}
		l.mu.Unlock()
	}
	return c, err
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		c.Close()
	}
}
