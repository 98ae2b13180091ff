package smtp_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/actors"
	"netstages/protocols/smtp"
	"netstages/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testMsg = "From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello\r\n"

func dial(t *testing.T, addr string, cfg smtp.Config) (*smtp.Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return smtp.Dial(ctx, &transport.System{}, addr, cfg)
}

func send(c *smtp.Client, to []string, msg string) (*smtp.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Send(ctx, "a@example.com", to, []byte(msg))
}

func TestSTARTTLSAndEachAuthMechanism(t *testing.T) {
	ca := newTestCA(t)
	for _, mech := range []string{"PLAIN", "LOGIN", "XOAUTH2"} {
		t.Run(mech, func(t *testing.T) {
			is := is.New(t)
			b := &backend{Users: map[string]string{"alice": "s3cret"}}
			addr := startServer(t, b, serverOpts{tls: &ca})
			auth := &smtp.Auth{Mechanism: mech, Username: "alice", Password: "s3cret"}
			if mech == "XOAUTH2" {
				auth = &smtp.Auth{Username: "alice", Token: "s3cret"}
			}
			var trace []string
			var mu sync.Mutex
			c, err := dial(t, addr, smtp.Config{
				TLS:   &tls.Config{RootCAs: ca.Roots},
				Auth:  auth,
				Trace: func(l string) { mu.Lock(); trace = append(trace, l); mu.Unlock() },
			})
			is.NoErr(err)                       // STARTTLS and AUTH succeed
			is.True(c.TLS() != nil)             // the session is encrypted
			is.Equal(c.AuthMechanism(), mech)   // the mechanism asked for
			is.True(c.Extensions().Has("SIZE")) // EHLO after TLS was read
			for i := range 3 {                  // several messages on one connection
				res, err := send(c, []string{"b@example.com"}, testMsg)
				is.NoErr(err) // message accepted
				is.Equal(res.Accepted, []string{"b@example.com"})
				is.True(strings.Contains(res.Reply.Text(), "OK")) // the final reply text
				_ = i
			}
			is.NoErr(c.Close()) // QUIT answered
			msgs := b.Messages()
			is.Equal(len(msgs), 3)          // every message arrived
			is.True(msgs[0].TLS)            // over TLS
			is.Equal(msgs[0].User, "alice") // authenticated
			is.Equal(string(msgs[2].Data), testMsg)
			mu.Lock()
			all := strings.Join(trace, "\n")
			mu.Unlock()
			is.True(!strings.Contains(all, "s3cret"))                   // the secret never appears in the trace
			is.True(!strings.Contains(all, b64("\x00alice\x00s3cret"))) // nor its base64
			is.True(strings.Contains(all, "-> STARTTLS"))               // the dialogue is traced
			is.True(strings.Contains(all, "<redacted"))                 // credentials shown redacted
		})
	}
}

func TestWrongPasswordIsA535(t *testing.T) {
	is := is.New(t)
	ca := newTestCA(t)
	b := &backend{Users: map[string]string{"alice": "s3cret"}}
	addr := startServer(t, b, serverOpts{tls: &ca})
	_, err := dial(t, addr, smtp.Config{TLS: &tls.Config{RootCAs: ca.Roots}, Auth: &smtp.Auth{Username: "alice", Password: "nope"}})
	var se *smtp.Error
	is.True(errors.As(err, &se)) // a typed error
	is.Equal(se.Code, 535)
	is.Equal(se.Enhanced, smtp.EnhancedCode{5, 7, 8})
	is.True(!se.Temporary())
	is.True(!strings.Contains(err.Error(), "nope")) // the password is not in the error
}

func TestCertificateIsVerified(t *testing.T) {
	is := is.New(t)
	ca := newTestCA(t)
	addr := startServer(t, &backend{}, serverOpts{tls: &ca})
	_, err := dial(t, addr, smtp.Config{StartTLS: smtp.TLSRequired}) // system roots do not know the test CA
	is.True(err != nil)                                              // refused
	is.True(strings.Contains(err.Error(), "certificate"))            // because of the certificate
	c, err := dial(t, addr, smtp.Config{StartTLS: smtp.TLSRequired, TLS: &tls.Config{InsecureSkipVerify: true}})
	is.NoErr(err) // only an explicit opt-out skips verification
	is.NoErr(c.Close())
}

func TestImplicitTLS(t *testing.T) {
	is := is.New(t)
	ca := newTestCA(t)
	b := &backend{}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.Server}})
	is.NoErr(err)
	addr := startServer(t, b, serverOpts{ln: ln})
	c, err := dial(t, addr, smtp.Config{ImplicitTLS: true, TLS: &tls.Config{RootCAs: ca.Roots}})
	is.NoErr(err) // TLS before the greeting
	_, err = send(c, []string{"b@example.com"}, testMsg)
	is.NoErr(err)
	is.NoErr(c.Close())
	is.True(b.Messages()[0].TLS) // arrived over TLS
}

func TestSTARTTLSRequiredButNotOffered(t *testing.T) {
	is := is.New(t)
	b := &backend{Users: map[string]string{"alice": "pw"}}
	addr := startServer(t, b, serverOpts{}) // no TLS config: no STARTTLS
	_, err := dial(t, addr, smtp.Config{Auth: &smtp.Auth{Username: "alice", Password: "pw"}})
	is.True(errors.Is(err, smtp.ErrNoStartTLS)) // AUTH makes STARTTLS required by default
	c, err := dial(t, addr, smtp.Config{})
	is.NoErr(err) // without AUTH the default is opportunistic
	is.True(c.TLS() == nil)
	is.NoErr(c.Close())
	// To loopback, plain-text AUTH is allowed when STARTTLS is turned off.
	c, err = dial(t, addr, smtp.Config{StartTLS: smtp.TLSOff, Auth: &smtp.Auth{Username: "alice", Password: "pw"}})
	is.NoErr(err)
	_, err = send(c, []string{"b@example.com"}, testMsg)
	is.NoErr(err)
	is.NoErr(c.Close())
	is.Equal(b.Messages()[0].User, "alice")
}

// flightModes are the ways a message can go: BDAT in one flight with its
// envelope (go-smtp offers CHUNKING), pipelined envelope then DATA, and one
// command per round trip.
var flightModes = []struct {
	name string
	cfg  smtp.Config
}{
	{"pipelining+chunking", smtp.Config{}},
	{"pipelining", smtp.Config{NoChunking: true}},
	{"lockstep", smtp.Config{NoPipelining: true}},
}

func TestRejectedRecipientDoesNotAbortTheOthers(t *testing.T) {
	for _, mode := range flightModes {
		t.Run(mode.name, func(t *testing.T) {
			is := is.New(t)
			b := &backend{RejectRcpt: map[string]*gosmtp.SMTPError{
				"nobody@example.com": {Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "No such user"},
				"later@example.com":  {Code: 450, EnhancedCode: gosmtp.EnhancedCode{4, 2, 1}, Message: "Try later"},
			}}
			addr := startServer(t, b, serverOpts{})
			c, err := dial(t, addr, mode.cfg)
			is.NoErr(err)
			defer c.Close()
			res, err := send(c, []string{"one@example.com", "nobody@example.com", "two@example.com"}, testMsg)
			is.NoErr(err) // one refusal does not fail the message
			is.Equal(res.Accepted, []string{"one@example.com", "two@example.com"})
			is.Equal(len(res.Rejected), 1)
			is.Equal(res.Rejected[0].Addr, "nobody@example.com")
			is.Equal(res.Rejected[0].Err.Code, 550)
			is.Equal(res.Rejected[0].Err.Enhanced.String(), "5.1.1")
			is.Equal(b.Messages()[0].To, []string{"one@example.com", "two@example.com"}) // delivered to the good ones

			// All refused: the message fails with the first refusal, the session goes on.
			res, err = send(c, []string{"later@example.com", "nobody@example.com"}, testMsg)
			var se *smtp.Error
			is.True(errors.As(err, &se))
			is.Equal(se.Code, 450)
			is.True(se.Temporary())
			is.Equal(len(res.Rejected), 2)
			_, err = send(c, []string{"one@example.com"}, testMsg)
			is.NoErr(err) // the next message still goes
			is.Equal(len(b.Messages()), 2)
		})
	}
}

func TestFailureRepliesAtEachStep(t *testing.T) {
	temp := &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "Local trouble"}
	perm := &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 6, 0}, Message: "Content refused"}
	cases := []struct {
		name     string
		b        *backend
		atDial   bool
		code     int
		temporay bool
	}{
		{"EHLO and HELO refused", &backend{GreetErr: perm}, true, 554, false},
		{"MAIL 451", &backend{MailErr: temp}, false, 451, true},
		{"MAIL 554", &backend{MailErr: perm}, false, 554, false},
		{"RCPT 550", &backend{RejectRcpt: map[string]*gosmtp.SMTPError{"b@example.com": {Code: 550, Message: "no"}}}, false, 550, false},
		{"DATA end 554", &backend{DataErr: perm}, false, 554, false},
		{"DATA end 451", &backend{DataErr: temp}, false, 451, true},
	}
	for _, tc := range cases {
		for _, mode := range flightModes {
			t.Run(tc.name+"/"+mode.name, func(t *testing.T) {
				is := is.New(t)
				addr := startServer(t, tc.b, serverOpts{})
				c, err := dial(t, addr, mode.cfg)
				if !tc.atDial {
					is.NoErr(err) // session set up
					defer c.Close()
					_, err = send(c, []string{"b@example.com"}, testMsg)
				}
				var se *smtp.Error
				is.True(errors.As(err, &se)) // typed error with the server's reply
				is.Equal(se.Code, tc.code)
				is.Equal(se.Temporary(), tc.temporay)
				is.Equal(se.Permanent(), !tc.temporay)
				is.Equal(strings.Contains(err.Error(), "(temporary failure"), tc.temporay) // the message says which
				is.Equal(strings.Contains(err.Error(), "(permanent failure)"), !tc.temporay)
				if !tc.atDial {
					_, err = send(c, []string{"b@example.com"}, testMsg)
					is.True(errors.As(err, &se)) // the session is still usable and gives the same answer
					is.Equal(se.Code, tc.code)
				}
			})
		}
	}
}

func TestServerTooSlowForTheTimeout(t *testing.T) {
	is := is.New(t)
	b := &backend{SlowRcpt: make(chan struct{})}
	addr := startServer(t, b, serverOpts{})
	defer close(b.SlowRcpt) // release the server's session before it is stopped
	c, err := dial(t, addr, smtp.Config{Timeouts: smtp.Timeouts{Rcpt: 150 * time.Millisecond}})
	is.NoErr(err)
	_, err = send(c, []string{"b@example.com"}, testMsg)
	var te *smtp.TimeoutError
	is.True(errors.As(err, &te)) // a timeout, not a hang
	is.Equal(te.Command, "RCPT")
	is.Equal(te.After, 150*time.Millisecond)
	_, err = send(c, []string{"b@example.com"}, testMsg)
	is.True(errors.Is(err, smtp.ErrClosed)) // the session is over
	is.True(errors.As(err, &te))            // and says why
	c.Close()
}

func TestMessageCheckedBeforeAnyCommand(t *testing.T) {
	is := is.New(t)
	b := &backend{}
	addr := startServer(t, b, serverOpts{maxSize: 2000})
	c, err := dial(t, addr, smtp.Config{})
	is.NoErr(err)
	defer c.Close()
	is.Equal(c.Extensions().Size, int64(2000))
	_, err = send(c, []string{"b@example.com"}, "Subject: x\r\n\r\n"+strings.Repeat("y\r\n", 1200))
	is.True(errors.Is(err, smtp.ErrTooBig)) // over SIZE
	_, err = send(c, []string{"b@example.com"}, "Subject: x\r\n\r\n"+strings.Repeat("y", 999)+"\r\n")
	is.True(errors.Is(err, smtp.ErrLineTooLong)) // a 999-octet line is never sent
	_, err = send(c, []string{"b@example.com>\r\nRCPT TO:<evil@example.com"}, testMsg)
	is.True(errors.Is(err, smtp.ErrBadLine)) // CR/LF injection refused
	_, err = send(c, nil, testMsg)
	is.True(errors.Is(err, smtp.ErrNoRecipients))
	_, err = send(c, []string{"b@example.com"}, "Subject: x\r\n\r\n"+strings.Repeat("y", 998)+"\r\n")
	is.NoErr(err) // 998 octets is the limit, allowed; the session went on after the refusals
	is.Equal(len(b.Messages()), 1)
}

func TestDotStuffingAndLineEndings(t *testing.T) {
	for _, mode := range flightModes {
		t.Run(mode.name, func(t *testing.T) {
			is := is.New(t)
			b := &backend{}
			addr := startServer(t, b, serverOpts{})
			c, err := dial(t, addr, mode.cfg)
			is.NoErr(err)
			defer c.Close()
			msg := "Subject: dots\n\n.\n..two\n.three\nbare LF line\r\nlast line without ending"
			_, err = send(c, []string{"b@example.com"}, msg)
			is.NoErr(err)
			got := string(b.Messages()[0].Data)
			is.Equal(got, "Subject: dots\r\n\r\n.\r\n..two\r\n.three\r\nbare LF line\r\nlast line without ending\r\n") // a lone "." did not end the message; CRLF everywhere
		})
	}
}

func TestChunkingSendsEachMessageInOneFlight(t *testing.T) {
	is := is.New(t)
	var lines []string
	var mu sync.Mutex
	trace := func(l string) { mu.Lock(); lines = append(lines, l); mu.Unlock() }
	b := &backend{}
	addr := startServer(t, b, serverOpts{})
	c, err := dial(t, addr, smtp.Config{Trace: trace})
	is.NoErr(err)
	msg := "Subject: chunk\r\n\r\n.leading dot stays single\r\n"
	_, err = send(c, []string{"b@example.com", "c@example.com"}, msg)
	is.NoErr(err)
	is.NoErr(c.Close())
	mu.Lock()
	dialogue := strings.Join(lines, "\n")
	mu.Unlock()
	want := fmt.Sprintf("-> MAIL FROM:<a@example.com> SIZE=%d\n-> RCPT TO:<b@example.com>\n-> RCPT TO:<c@example.com>\n", len(msg)) +
		fmt.Sprintf("-> BDAT %d LAST\n-> [%d octets of message content]\n<- 250", len(msg), len(msg))
	is.True(strings.Contains(dialogue, want)) // the whole message before the first reply
	is.True(!strings.Contains(dialogue, "-> DATA"))
	is.Equal(string(b.Messages()[0].Data), msg) // byte for byte, no dot-stuffing
}

func TestConcurrentSendsShareOneConnection(t *testing.T) {
	is := is.New(t)
	b := &backend{}
	addr := startServer(t, b, serverOpts{})
	meter := actors.NewMeter()
	c, err := dial(t, addr, smtp.Config{Meter: meter})
	is.NoErr(err)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				_, err := send(c, []string{fmt.Sprintf("g%d@example.com", g)}, fmt.Sprintf("Subject: %d/%d\r\n\r\nbody\r\n", g, i))
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		is.NoErr(err) // every message accepted
	}
	is.NoErr(c.Close())
	is.Equal(len(b.Messages()), 100)
	is.Equal(b.Sessions(), 1) // all on one connection
	snap := meter.Snapshot()
	is.Equal(snap.Stages[3].Name, "session") // the counts name the stages
}

// scripted runs fn as the server of one connection on 127.0.0.1.
func scripted(t *testing.T, fn func(c net.Conn, r *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fn(c, bufio.NewReader(c))
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// expect reads one command line and fails the test if it lacks prefix.
func expect(t *testing.T, r *bufio.Reader, prefix string) string {
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, prefix) {
		t.Errorf("server: want %q, got %q (%v)", prefix, line, err)
	}
	return line
}

func TestMultiLineGreetingSplitOverTwoPackets(t *testing.T) {
	is := is.New(t)
	b := &backend{}
	real := startServer(t, b, serverOpts{})
	// A relay in front of go-smtp replaces its greeting with a two-line one
	// sent in two writes, 50 ms apart, then passes bytes both ways.
	addr := scripted(t, func(c net.Conn, r *bufio.Reader) {
		up, err := net.Dial("tcp", real)
		if err != nil {
			t.Error(err)
			return
		}
		defer up.Close()
		ur := bufio.NewReader(up)
		ur.ReadString('\n') // go-smtp's own greeting
		io.WriteString(c, "220-mx.test ESMTP first line\r\n")
		time.Sleep(50 * time.Millisecond)
		io.WriteString(c, "220 second line\r\n")
		go io.Copy(up, r)
		io.Copy(c, ur)
	})
	c, err := dial(t, addr, smtp.Config{})
	is.NoErr(err) // the split greeting is one reply
	_, err = send(c, []string{"b@example.com"}, testMsg)
	is.NoErr(err)
	is.NoErr(c.Close())
	is.Equal(len(b.Messages()), 1)
}

func TestEHLORefusedFallsBackToHELO(t *testing.T) {
	is := is.New(t)
	addr := scripted(t, func(c net.Conn, r *bufio.Reader) {
		io.WriteString(c, "220 old.test\r\n")
		expect(t, r, "EHLO ")
		io.WriteString(c, "500 5.5.1 Command unrecognized\r\n")
		expect(t, r, "HELO ")
		io.WriteString(c, "250 old.test\r\n")
		expect(t, r, "MAIL FROM:<a@example.com>\r\n") // no SIZE: nothing was announced
		io.WriteString(c, "250 ok\r\n")
		expect(t, r, "RCPT TO:<b@example.com>")
		io.WriteString(c, "250 ok\r\n")
		expect(t, r, "DATA")
		io.WriteString(c, "354 go\r\n")
		for line := ""; line != ".\r\n"; line = expect(t, r, "") {
		}
		io.WriteString(c, "250-queued\r\n250 as 42\r\n")
		expect(t, r, "QUIT")
		io.WriteString(c, "221 bye\r\n")
	})
	c, err := dial(t, addr, smtp.Config{})
	is.NoErr(err)
	res, err := send(c, []string{"b@example.com"}, testMsg)
	is.NoErr(err)                                          // no pipelining without EHLO, one command at a time
	is.Equal(res.Reply.Lines, []string{"queued", "as 42"}) // multi-line final reply
	is.NoErr(c.Close())
}

func TestDisconnectInTheMiddleOfDATA(t *testing.T) {
	is := is.New(t)
	addr := scripted(t, func(c net.Conn, r *bufio.Reader) {
		io.WriteString(c, "220 flaky.test\r\n")
		expect(t, r, "EHLO")
		io.WriteString(c, "250-flaky.test\r\n250 PIPELINING\r\n")
		expect(t, r, "MAIL")
		expect(t, r, "RCPT")
		expect(t, r, "DATA")
		io.WriteString(c, "250 ok\r\n250 ok\r\n354 go\r\n")
		expect(t, r, "From") // some content, then the server goes away
	})
	c, err := dial(t, addr, smtp.Config{})
	is.NoErr(err)
	_, err = send(c, []string{"b@example.com"}, testMsg+strings.Repeat("more\r\n", 100))
	is.True(err != nil)                                   // the message failed
	is.True(strings.Contains(err.Error(), "end of data")) // while waiting for the final reply
	_, err = send(c, []string{"b@example.com"}, testMsg)
	is.True(errors.Is(err, smtp.ErrClosed)) // and the session is over, not hanging
	c.Close()
}

func TestDataAfterSTARTTLSReplyIsRefused(t *testing.T) {
	is := is.New(t)
	addr := scripted(t, func(c net.Conn, r *bufio.Reader) {
		io.WriteString(c, "220 evil.test\r\n")
		expect(t, r, "EHLO")
		io.WriteString(c, "250-evil.test\r\n250 STARTTLS\r\n")
		expect(t, r, "STARTTLS")
		io.WriteString(c, "220 go ahead\r\n250 injected\r\n")
		r.ReadString('\n')
	})
	_, err := dial(t, addr, smtp.Config{StartTLS: smtp.TLSRequired})
	is.True(errors.Is(err, smtp.ErrSTARTTLSInjection)) // plaintext after the STARTTLS reply is an attack

	for _, fused := range []bool{false, true} {
		addr = scripted(t, func(c net.Conn, r *bufio.Reader) {
			io.WriteString(c, "220 evil.test\r\n")
			expect(t, r, "EHLO")
			io.WriteString(c, "250-evil.test\r\n250 STARTTLS\r\n")
			expect(t, r, "STARTTLS")
			io.WriteString(c, "220 go ahead\r\n250 half a rep") // a partial line after the 220
			r.ReadString('\n')
		})
		_, err = dial(t, addr, smtp.Config{StartTLS: smtp.TLSRequired, Fused: fused})
		is.True(errors.Is(err, smtp.ErrSTARTTLSInjection)) // caught in the framer, not fed to TLS
	}
}

func TestMalformedReplyIsAnError(t *testing.T) {
	is := is.New(t)
	addr := scripted(t, func(c net.Conn, r *bufio.Reader) {
		io.WriteString(c, "hello, I am not SMTP\r\n")
		r.ReadString('\n')
	})
	_, err := dial(t, addr, smtp.Config{})
	is.True(errors.Is(err, smtp.ErrBadReply)) // a clear error, no hang
}

func TestGreetingTimeout(t *testing.T) {
	is := is.New(t)
	addr := scripted(t, func(c net.Conn, r *bufio.Reader) { r.ReadString('\n') })
	_, err := dial(t, addr, smtp.Config{Timeouts: smtp.Timeouts{Greeting: 100 * time.Millisecond}})
	var te *smtp.TimeoutError
	is.True(errors.As(err, &te)) // the silent server is given up on
	is.Equal(te.Command, "greeting")
}

func TestEightBitAndSMTPUTF8AreDeclared(t *testing.T) {
	is := is.New(t)
	b := &backend{}
	addr := startServer(t, b, serverOpts{})
	c, err := dial(t, addr, smtp.Config{})
	is.NoErr(err)
	defer c.Close()
	ctx := context.Background()
	_, err = c.Send(ctx, "zoë@example.com", []string{"bob@example.com"}, []byte("Subject: x\r\n\r\ncafé\r\n"))
	is.NoErr(err) // the server offers SMTPUTF8 and 8BITMIME
	got := b.Messages()[0]
	is.True(got.Opts.UTF8)                      // MAIL … SMTPUTF8
	is.Equal(string(got.Opts.Body), "8BITMIME") // MAIL … BODY=8BITMIME for an 8-bit body
	is.Equal(got.From, "zoë@example.com")
	is.Equal(got.Opts.Size, int64(len("Subject: x\r\n\r\ncafé\r\n"))) // SIZE= declared

	// A server without SMTPUTF8: a non-ASCII address is refused before MAIL.
	plain := scripted(t, func(c net.Conn, r *bufio.Reader) {
		io.WriteString(c, "220 old.test\r\n")
		expect(t, r, "EHLO")
		io.WriteString(c, "250-old.test\r\n250 8BITMIME\r\n")
		expect(t, r, "QUIT")
		io.WriteString(c, "221 bye\r\n")
	})
	c2, err := dial(t, plain, smtp.Config{})
	is.NoErr(err)
	_, err = c2.Send(ctx, "zoë@example.com", []string{"bob@example.com"}, []byte(testMsg))
	is.True(errors.Is(err, smtp.ErrNeedsSMTPUTF8))
	is.NoErr(c2.Close()) // the session went on to a clean QUIT
}

func TestCancelledSendAbortsTheSession(t *testing.T) {
	is := is.New(t)
	b := &backend{SlowRcpt: make(chan struct{})}
	addr := startServer(t, b, serverOpts{})
	defer close(b.SlowRcpt)
	c, err := dial(t, addr, smtp.Config{})
	is.NoErr(err)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = c.Send(ctx, "a@example.com", []string{"b@example.com"}, []byte(testMsg))
	is.True(errors.Is(err, context.DeadlineExceeded)) // the caller's deadline, not the RFC's 5 minutes
	is.True(c.Err() != nil)                           // the session is over: its state on the wire is unknown
	_, err = send(c, []string{"b@example.com"}, testMsg)
	is.True(errors.Is(err, smtp.ErrClosed))
	c.Close()
}

func TestSubmitPipelinesMessagesFromOneGoroutine(t *testing.T) {
	is := is.New(t)
	b := &backend{}
	addr := startServer(t, b, serverOpts{})
	c, err := dial(t, addr, smtp.Config{})
	is.NoErr(err)
	ctx := context.Background()
	var pending []*smtp.Pending
	for i := range 30 {
		p, err := c.Submit(ctx, "a@example.com", []string{"b@example.com"}, fmt.Appendf(nil, "Subject: %d\r\n\r\nbody\r\n", i))
		is.NoErr(err) // taken by the session without waiting for the server
		pending = append(pending, p)
	}
	for _, p := range pending {
		res, err := p.Wait(ctx)
		is.NoErr(err) // each message accepted
		is.Equal(res.Reply.Code, 250)
	}
	is.NoErr(c.Close())
	msgs := b.Messages()
	is.Equal(len(msgs), 30)
	for i, m := range msgs {
		is.True(strings.HasPrefix(string(m.Data), fmt.Sprintf("Subject: %d\r\n", i))) // in order
	}
	is.Equal(b.Sessions(), 1)
}

// TestFailureRepliesAtTheOtherSteps covers the steps go-smtp cannot be made
// to refuse (the greeting, EHLO with a 4xx, STARTTLS, AUTH with a 4xx, the
// DATA command itself) with scripted servers: each refusal is a typed
// error with the code, the enhanced code and whether it is temporary.
func TestFailureRepliesAtTheOtherSteps(t *testing.T) {
	const ehlo = "250-refusing.test\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN\r\n"
	// rest answers RSET and QUIT until the client hangs up.
	rest := func(c net.Conn, r *bufio.Reader) {
		for {
			line, err := r.ReadString('\n')
			switch {
			case err != nil:
				return
			case strings.HasPrefix(line, "RSET"):
				io.WriteString(c, "250 2.0.0 ok\r\n")
			case strings.HasPrefix(line, "QUIT"):
				io.WriteString(c, "221 2.0.0 bye\r\n")
				return
			default:
				io.WriteString(c, "503 5.5.1 unexpected\r\n")
			}
		}
	}
	// refuse greets (or refuses the greeting when cmd is ""), answers EHLO
	// (or refuses it), and refuses cmd with reply.
	refuse := func(cmd, reply string) func(c net.Conn, r *bufio.Reader) {
		return func(c net.Conn, r *bufio.Reader) {
			defer rest(c, r)
			if cmd == "" {
				io.WriteString(c, reply)
				return
			}
			io.WriteString(c, "220 refusing.test\r\n")
			expect(t, r, "EHLO")
			if cmd != "EHLO" {
				io.WriteString(c, ehlo)
				expect(t, r, cmd)
			}
			io.WriteString(c, reply)
		}
	}
	envelope := func(pipelining bool, dataReply string) func(c net.Conn, r *bufio.Reader) {
		return func(c net.Conn, r *bufio.Reader) {
			io.WriteString(c, "220 refusing.test\r\n")
			expect(t, r, "EHLO")
			if pipelining {
				io.WriteString(c, "250-refusing.test\r\n250 PIPELINING\r\n")
				expect(t, r, "MAIL")
				expect(t, r, "RCPT")
				expect(t, r, "DATA")
				io.WriteString(c, "250 ok\r\n250 ok\r\n"+dataReply)
			} else {
				io.WriteString(c, "250 refusing.test\r\n")
				expect(t, r, "MAIL")
				io.WriteString(c, "250 ok\r\n")
				expect(t, r, "RCPT")
				io.WriteString(c, "250 ok\r\n")
				expect(t, r, "DATA")
				io.WriteString(c, dataReply)
			}
			rest(c, r)
		}
	}
	cases := []struct {
		name      string
		cfg       smtp.Config
		script    func(c net.Conn, r *bufio.Reader)
		atDial    bool
		code      int
		enhanced  smtp.EnhancedCode
		temporary bool
	}{
		{"greeting 421", smtp.Config{}, refuse("", "421 4.3.2 too busy\r\n"), true, 421, smtp.EnhancedCode{4, 3, 2}, true},
		{"greeting 554", smtp.Config{}, refuse("", "554 5.7.1 no service for you\r\n"), true, 554, smtp.EnhancedCode{5, 7, 1}, false},
		{"EHLO 421", smtp.Config{}, refuse("EHLO", "421 4.3.2 shutting down\r\n"), true, 421, smtp.EnhancedCode{4, 3, 2}, true},
		{"STARTTLS 454", smtp.Config{StartTLS: smtp.TLSRequired}, refuse("STARTTLS", "454 4.7.0 TLS not available\r\n"), true, 454, smtp.EnhancedCode{4, 7, 0}, true},
		{"STARTTLS 501", smtp.Config{StartTLS: smtp.TLSRequired}, refuse("STARTTLS", "501 5.5.4 no\r\n"), true, 501, smtp.EnhancedCode{5, 5, 4}, false},
		{"AUTH 454", smtp.Config{StartTLS: smtp.TLSOff, Auth: &smtp.Auth{Username: "alice", Password: "pw"}},
			refuse("AUTH PLAIN", "454 4.7.0 temporary authentication failure\r\n"), true, 454, smtp.EnhancedCode{4, 7, 0}, true},
		{"DATA 451 lockstep", smtp.Config{}, envelope(false, "451 4.3.0 try again\r\n"), false, 451, smtp.EnhancedCode{4, 3, 0}, true},
		{"DATA 554 lockstep", smtp.Config{}, envelope(false, "554 5.5.1 no valid recipients\r\n"), false, 554, smtp.EnhancedCode{5, 5, 1}, false},
		{"DATA 451 pipelined", smtp.Config{}, envelope(true, "451 4.3.0 try again\r\n"), false, 451, smtp.EnhancedCode{4, 3, 0}, true},
		{"DATA 554 pipelined", smtp.Config{}, envelope(true, "554 5.5.1 no valid recipients\r\n"), false, 554, smtp.EnhancedCode{5, 5, 1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			c, err := dial(t, scripted(t, tc.script), tc.cfg)
			if !tc.atDial {
				is.NoErr(err) // session set up
				_, err = send(c, []string{"b@example.com"}, testMsg)
			}
			var se *smtp.Error
			is.True(errors.As(err, &se)) // a typed error with the server's reply
			is.Equal(se.Code, tc.code)
			is.Equal(se.Enhanced, tc.enhanced)
			is.Equal(se.Temporary(), tc.temporary)
			is.Equal(se.Permanent(), !tc.temporary)
			if !tc.atDial {
				is.NoErr(c.Close()) // the session went on to a clean QUIT
			}
		})
	}
}

// TestLocalRefusalSaysQUIT: when the client itself decides not to go on
// over a sound channel (STARTTLS required but not offered, no AUTH
// mechanism in common, credentials that would go in clear), it says QUIT
// before hanging up, as RFC 5321 §4.1.1.10 asks.
func TestLocalRefusalSaysQUIT(t *testing.T) {
	for _, tc := range []struct {
		name string
		ehlo string
		cfg  smtp.Config
		want error
	}{
		{"STARTTLS required but missing", "250 mx.test\r\n", smtp.Config{Auth: &smtp.Auth{Username: "u", Password: "p"}}, smtp.ErrNoStartTLS},
		{"no AUTH mechanism in common", "250-mx.test\r\n250 AUTH CRAM-MD5\r\n", smtp.Config{StartTLS: smtp.TLSOff, Auth: &smtp.Auth{Username: "u", Password: "p"}}, smtp.ErrNoAuthMechanism},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			quit := make(chan string, 1)
			addr := scripted(t, func(c net.Conn, r *bufio.Reader) {
				io.WriteString(c, "220 mx.test\r\n")
				expect(t, r, "EHLO ")
				io.WriteString(c, tc.ehlo)
				line, _ := r.ReadString('\n')
				io.WriteString(c, "221 bye\r\n")
				quit <- line
			})
			_, err := dial(t, addr, tc.cfg)
			is.True(errors.Is(err, tc.want)) // the refusal, as a typed error
			is.Equal(<-quit, "QUIT\r\n")     // after a QUIT, not a bare hang-up
		})
	}
}
