package smtp_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/matryer/is"

	"netstages/actors"
	"netstages/protocols/smtp"
)

// TestFusedRunsTheSameSession runs the main paths with the framer and
// parser fused into the reader and the writer into the session.
func TestFusedRunsTheSameSession(t *testing.T) {
	t.Run("STARTTLS, AUTH LOGIN, refused recipient", func(t *testing.T) {
		is := is.New(t)
		ca := newTestCA(t)
		b := &backend{Users: map[string]string{"alice": "pw"}, RejectRcpt: map[string]*gosmtp.SMTPError{
			"nobody@example.com": {Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "No such user"}}}
		addr := startServer(t, b, serverOpts{tls: &ca})
		meter := actors.NewMeter()
		c, err := dial(t, addr, smtp.Config{Fused: true, Meter: meter, TLS: &tls.Config{RootCAs: ca.Roots},
			Auth: &smtp.Auth{Mechanism: "LOGIN", Username: "alice", Password: "pw"}})
		is.NoErr(err) // two fused pipelines, before and after TLS
		for range 3 {
			res, err := send(c, []string{"b@example.com", "nobody@example.com"}, testMsg)
			is.NoErr(err)
			is.Equal(res.Rejected[0].Err.Code, 550)
		}
		is.NoErr(c.Close())
		is.Equal(len(b.Messages()), 3)
		is.True(b.Messages()[0].TLS)
		g := c.PipelineGraph()
		is.Equal(len(g.Nodes), 5)       // the picture still shows five stages
		is.Equal(g.Edges[0].Buffer, -1) // reader → framer is a fused edge
	})
	t.Run("server too slow", func(t *testing.T) {
		is := is.New(t)
		b := &backend{SlowRcpt: make(chan struct{})}
		addr := startServer(t, b, serverOpts{})
		defer close(b.SlowRcpt)
		c, err := dial(t, addr, smtp.Config{Fused: true, Timeouts: smtp.Timeouts{Rcpt: 100 * time.Millisecond}})
		is.NoErr(err)
		_, err = send(c, []string{"b@example.com"}, testMsg)
		var te *smtp.TimeoutError
		is.True(errors.As(err, &te)) // the timeout, as without fusing
		c.Close()
	})
	t.Run("disconnect mid-DATA", func(t *testing.T) {
		is := is.New(t)
		addr := scripted(t, func(c net.Conn, r *bufio.Reader) {
			io.WriteString(c, "220-flaky.test\r\n220 two lines\r\n")
			expect(t, r, "EHLO")
			io.WriteString(c, "250-flaky.test\r\n250 PIPELINING\r\n")
			expect(t, r, "MAIL")
			expect(t, r, "RCPT")
			expect(t, r, "DATA")
			io.WriteString(c, "250 ok\r\n250 ok\r\n354 go\r\n")
			expect(t, r, "From")
		})
		c, err := dial(t, addr, smtp.Config{Fused: true})
		is.NoErr(err)
		_, err = send(c, []string{"b@example.com"}, testMsg+strings.Repeat("more\r\n", 100))
		is.True(err != nil) // failed, no hang
		_, err = send(c, []string{"b@example.com"}, testMsg)
		is.True(errors.Is(err, smtp.ErrClosed))
		c.Close()
	})
}
