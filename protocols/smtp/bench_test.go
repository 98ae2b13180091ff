package smtp_test

import (
	"context"
	"net"
	netsmtp "net/smtp"
	"strings"
	"testing"

	"netstages/protocols/smtp"
	"netstages/protocols/smtp/smtptest"
	"netstages/transport"
)

// benchMessage is about 10 KiB in 72-octet lines, like RESULTS.md §4's.
func benchMessage() []byte {
	line := strings.Repeat("x", 70) + "\r\n"
	return []byte("From: bench@example.com\r\nTo: sink@example.com\r\nSubject: bench\r\n\r\n" + strings.Repeat(line, 142))
}

func benchSink(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	stop := smtptest.Start(ln, &smtptest.Backend{Discard: true}, smtptest.Options{})
	b.Cleanup(func() { stop() })
	return ln.Addr().String()
}

// BenchmarkSendOneConnection compares messages/s on one connection to a
// go-smtp sink: this client (pipelined, and not), and net/smtp (MAIL, RCPT,
// DATA, RSET per message). Run with -count and compare with benchstat.
func BenchmarkSendOneConnection(b *testing.B) {
	msg := benchMessage()
	for _, v := range []struct {
		name          string
		nopipe, fused bool
	}{{"netstages", false, false}, {"netstages-fused", false, true}, {"netstages-no-pipelining", true, false}} {
		b.Run(v.name, func(b *testing.B) {
			addr := benchSink(b)
			ctx := context.Background()
			c, err := smtp.Dial(ctx, &transport.System{}, addr, smtp.Config{NoPipelining: v.nopipe, Fused: v.fused})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := c.Send(ctx, "bench@example.com", []string{"sink@example.com"}, msg); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			c.Close()
		})
	}
	b.Run("net-smtp", func(b *testing.B) {
		addr := benchSink(b)
		c, err := netsmtp.Dial(addr)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if err := c.Mail("bench@example.com"); err != nil {
				b.Fatal(err)
			}
			if err := c.Rcpt("sink@example.com"); err != nil {
				b.Fatal(err)
			}
			w, err := c.Data()
			if err != nil {
				b.Fatal(err)
			}
			w.Write(msg)
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			if err := c.Reset(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		c.Quit()
	})
}
