package smtp_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"netstages/protocols/smtp"
	"netstages/protocols/smtp/smtptest"
	"netstages/transport/mem"
)

// memServer runs go-smtp on the in-process network at addr.
func memServer(t *testing.T, n *mem.Network, addr string, b *backend) func() {
	t.Helper()
	ln, err := n.Listen(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	stop := smtptest.Start(ln, b, smtptest.Options{})
	return func() { stop() }
}

func TestOverMemNetworkUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n := mem.NewNetwork(0)
		b := &backend{Users: map[string]string{"alice": "pw"}}
		stop := memServer(t, n, "mx:25", b)
		defer stop()
		ctx := context.Background()

		for _, fused := range []bool{false, true} {
			c, err := smtp.Dial(ctx, n, "mx:25", smtp.Config{Fused: fused})
			is.NoErr(err) // session over the mem network
			res, err := c.Send(ctx, "a@example.com", []string{"b@example.com", "c@example.com"}, []byte(testMsg))
			is.NoErr(err)
			is.Equal(len(res.Accepted), 2)
			is.NoErr(c.Close())
		}
		is.Equal(len(b.Messages()), 2)
		is.Equal(string(b.Messages()[1].Data), testMsg)

		// "mx:25" is not a loopback address: no credentials without TLS.
		_, err := smtp.Dial(ctx, n, "mx:25", smtp.Config{StartTLS: smtp.TLSOff, Auth: &smtp.Auth{Username: "alice", Password: "pw"}})
		is.True(errors.Is(err, smtp.ErrInsecureAuth))
	})
}

func TestRFCTimeoutsWithFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n := mem.NewNetwork(0)
		b := &backend{SlowRcpt: make(chan struct{})}
		stop := memServer(t, n, "mx:25", b)
		defer stop()
		defer close(b.SlowRcpt)
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
