package smtp_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"

	"netstages/protocols/smtp"
	"netstages/transport/mem"
)

func TestCheckLocalName(t *testing.T) {
	is := is.New(t)
	for _, good := range []string{"localhost", "client.example", "mx-1.example.com", "[192.0.2.1]", "[IPv6:2001:db8::1]", "a"} {
		is.NoErr(smtp.CheckLocalName(good)) // a domain or an address literal
	}
	for _, bad := range []string{"", "x\r\nRSET", "x\nRSET", "x\rRSET", "x\x00y", "two words", "x\t", "-x.example", "x-.example",
		"a..b", ".example", "under_score.example", "[192.0.2.1", "[999.0.0.1]", "[2001:db8::1]", "[IPv6:192.0.2.1]", "[IPv6:fe80::1%eth0]",
		"ü.example", string(make([]byte, 64)) + ".example"} {
		is.True(errors.Is(smtp.CheckLocalName(bad), smtp.ErrBadLocalName)) // refused with a clear error
	}
}

// A LocalName carrying CR/LF would make the server read "EHLO x" then
// "RSET" (house rule 9): Dial and NewClient refuse it before connecting.
func TestBadLocalNameRefusedBeforeConnecting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n := mem.NewNetwork(0)
		b := &backend{}
		stop := memServer(t, n, "mx:25", b)
		defer stop()
		ctx := context.Background()

		for _, bad := range []string{"x\r\nRSET", "x RSET", "x\x00"} {
			c, err := smtp.Dial(ctx, n, "mx:25", smtp.Config{LocalName: bad})
			if c != nil {
				c.Close()
			}
			is.True(errors.Is(err, smtp.ErrBadLocalName)) // Dial refuses the name
		}
		conn, err := n.DialContext(ctx, "tcp", "mx:25")
		is.NoErr(err)
		_, err = smtp.NewClient(ctx, conn, smtp.Config{LocalName: "x\r\nRSET"})
		is.True(errors.Is(err, smtp.ErrBadLocalName)) // NewClient refuses it too
		_, err = conn.Write([]byte("x"))
		is.True(errors.Is(err, net.ErrClosed)) // and closes the connection it owns

		c, err := smtp.Dial(ctx, n, "mx:25", smtp.Config{LocalName: "[IPv6:2001:db8::1]"})
		is.NoErr(err) // an address literal is fine
		is.NoErr(c.Close())
		is.Equal(b.Sessions(), 1) // only the good name ever greeted the server
	})
}
