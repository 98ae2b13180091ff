package smtp_test

import (
	"context"
	"errors"
	"io"
	"log"
	"testing"
	"testing/synctest"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/matryer/is"

	"netstages/protocols/smtp"
	"netstages/transport/mem"
)

// memServer runs go-smtp on the in-process network at addr.
func memServer(t *testing.T, n *mem.Network, addr string, b *backend) func() {
	t.Helper()
	ln, err := n.Listen(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := gosmtp.NewServer(b)
	s.Domain = "mx.sim"
	s.AllowInsecureAuth = true
	// go-smtp v0.25.1 panics (and recovers) when it processes a pipelined DATA
	// after the client hung up during RCPT; keep its log quiet.
	s.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	return func() {
		s.Close()
		<-done
	}
}

func TestOverMemNetworkUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n := mem.NewNetwork(0)
		b := &backend{users: map[string]string{"alice": "pw"}}
		stop := memServer(t, n, "mx:25", b)
		defer stop()
		ctx := context.Background()

		c, err := smtp.Dial(ctx, n, "mx:25", smtp.Config{})
		is.NoErr(err) // session over the mem network
		res, err := c.Send(ctx, "a@example.com", []string{"b@example.com", "c@example.com"}, []byte(testMsg))
		is.NoErr(err)
		is.Equal(len(res.Accepted), 2)
		is.NoErr(c.Close())
		is.Equal(string(b.messages()[0].Data), testMsg)

		// "mx:25" is not a loopback address: no credentials without TLS.
		_, err = smtp.Dial(ctx, n, "mx:25", smtp.Config{StartTLS: smtp.TLSOff, Auth: &smtp.Auth{Username: "alice", Password: "pw"}})
		is.True(errors.Is(err, smtp.ErrInsecureAuth))
	})
}

func TestRFCTimeoutsWithFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n := mem.NewNetwork(0)
		b := &backend{slowRcpt: make(chan struct{})}
		stop := memServer(t, n, "mx:25", b)
		defer stop()
		defer close(b.slowRcpt)
		ctx := context.Background()
		c, err := smtp.Dial(ctx, n, "mx:25", smtp.Config{})
		is.NoErr(err)
		start := time.Now()
		_, err = c.Send(ctx, "a@example.com", []string{"b@example.com"}, []byte(testMsg))
		var te *smtp.TimeoutError
		is.True(errors.As(err, &te))                // the server never answered RCPT
		is.Equal(te.After, 5*time.Minute)           // RFC 5321 §4.5.3.2's RCPT timeout
		is.True(time.Since(start) >= 5*time.Minute) // and it was waited for in full (fake time)
		is.True(time.Since(start) < 5*time.Minute+time.Second)
		c.Close()
	})
}
