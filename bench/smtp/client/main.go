package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	netmail "net/mail"
	netsmtp "net/smtp"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"netstages/protocols/mail"
	"netstages/protocols/smtp"
	"netstages/transport"
)

const (
	from = "bench@example.com"
	to   = "sink@example.com"
)

func main() {
	lib := flag.String("lib", "netstages", "netstages, netstages-fused (framer and parser run in the reader's goroutine, the writer in the session's), netsmtp or gomail")
	mode := flag.String("mode", "reuse", "reuse (one connection) or fresh (a connection per message)")
	n := flag.Int("n", 2000, "messages")
	size := flag.Int("size", 10240, "body bytes")
	addr := flag.String("addr", "127.0.0.1:2525", "server")
	nopipe := flag.Bool("no-pipelining", false, "netstages only: do not pipeline")
	nochunk := flag.Bool("no-chunking", false, "netstages only: DATA instead of BDAT even when the server offers CHUNKING")
	senders := flag.Int("senders", 1, "netstages reuse only: goroutines sharing the connection (lets the next envelope ride with the current content)")
	window := flag.Int("window", 0, "netstages reuse only: one goroutine Submits up to this many messages ahead and Waits for the oldest (0: Send, one at a time)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	body := makeBody(*size)
	start := time.Now()
	var err error
	fused := *lib == "netstages-fused"
	switch strings.TrimSuffix(*lib, "-fused") + "/" + *mode {
	case "netstages/reuse":
		err = netstagesReuse(*addr, *n, *senders, *window, smtp.Config{StartTLS: smtp.TLSOff, NoPipelining: *nopipe, NoChunking: *nochunk, Fused: fused}, compose(body))
	case "netstages/fresh":
		err = netstagesFresh(*addr, *n, smtp.Config{StartTLS: smtp.TLSOff, NoChunking: *nochunk, Fused: fused}, compose(body))
	case "netsmtp/reuse":
		err = netsmtpReuse(*addr, *n, compose(body))
	case "netsmtp/fresh":
		err = netsmtpFresh(*addr, *n, compose(body))
	case "gomail/reuse", "gomail/fresh":
		err = gomailSend(*addr, *n, *mode == "fresh", body)
	default:
		err = fmt.Errorf("unknown -lib/-mode %s/%s", *lib, *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
	el := time.Since(start)
	fmt.Printf("lib=%s mode=%s senders=%d window=%d chunking=%v n=%d size=%d elapsed=%.3fs msgs_per_s=%.0f\n", *lib, *mode, *senders, *window, !*nochunk, *n, *size, el.Seconds(), float64(*n)/el.Seconds())
}

// makeBody is size bytes of ASCII text in 72-character lines.
func makeBody(size int) string {
	line := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz", 2)[:71] + "\n"
	var b strings.Builder
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.String()[:size]
}

// compose builds the message once, with our composer (short ASCII lines:
// quoted-printable leaves them as they are).
func compose(body string) []byte {
	raw, err := mail.Compose(&mail.Message{
		From: netmail.Address{Name: "Bench", Address: from}, To: []netmail.Address{{Address: to}},
		Subject: "benchmark message", Text: body,
	})
	if err != nil {
		panic(err)
	}
	return raw
}

func netstagesReuse(addr string, n, senders, window int, cfg smtp.Config, msg []byte) error {
	ctx := context.Background()
	c, err := smtp.Dial(ctx, &transport.System{}, addr, cfg)
	if err != nil {
		return err
	}
	if window > 0 {
		if err := submitWindow(ctx, c, n, window, msg); err != nil {
			return err
		}
		return c.Close()
	}
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for s := range senders {
		count := n / senders
		if s < n%senders {
			count++
		}
		wg.Go(func() {
			for range count {
				if _, err := c.Send(ctx, from, []string{to}, msg); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return c.Close()
}

// submitWindow keeps up to window messages submitted and not yet answered.
func submitWindow(ctx context.Context, c *smtp.Client, n, window int, msg []byte) error {
	var queue []*smtp.Pending
	for i := 0; i < n || len(queue) > 0; {
		if i < n && len(queue) < window {
			p, err := c.Submit(ctx, from, []string{to}, msg)
			if err != nil {
				return err
			}
			queue = append(queue, p)
			i++
			continue
		}
		if _, err := queue[0].Wait(ctx); err != nil {
			return err
		}
		queue = queue[1:]
	}
	return nil
}

func netstagesFresh(addr string, n int, cfg smtp.Config, msg []byte) error {
	ctx := context.Background()
	for range n {
		c, err := smtp.Dial(ctx, &transport.System{}, addr, cfg)
		if err != nil {
			return err
		}
		if _, err := c.Send(ctx, from, []string{to}, msg); err != nil {
			return err
		}
		if err := c.Close(); err != nil {
			return err
		}
	}
	return nil
}

// netsmtpReuse is MAIL, RCPT, DATA, RSET per message on one connection.
func netsmtpReuse(addr string, n int, msg []byte) error {
	c, err := netsmtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	for range n {
		if err := netsmtpOne(c, msg); err != nil {
			return err
		}
		if err := c.Reset(); err != nil {
			return err
		}
	}
	return c.Quit()
}

func netsmtpOne(c *netsmtp.Client, msg []byte) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	return w.Close()
}

// netsmtpFresh is dial, EHLO, MAIL, RCPT, DATA, QUIT per message.
func netsmtpFresh(addr string, n int, msg []byte) error {
	for range n {
		c, err := netsmtp.Dial(addr)
		if err != nil {
			return err
		}
		if err := c.Hello("localhost"); err != nil {
			return err
		}
		if err := netsmtpOne(c, msg); err != nil {
			return err
		}
		if err := c.Quit(); err != nil {
			return err
		}
	}
	return nil
}

// gomailSend uses go-mail's defaults: Send (NOOP, MAIL, RCPT, DATA, RSET)
// on one dialled client, or DialAndSend per message.
func gomailSend(addr string, n int, fresh bool, body string) error {
	host, portS, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portS)
	c, err := gomail.NewClient(host, gomail.WithPort(port), gomail.WithTLSPolicy(gomail.NoTLS), gomail.WithHELO("localhost"))
	if err != nil {
		return err
	}
	m := gomail.NewMsg()
	if err := m.From(from); err != nil {
		return err
	}
	if err := m.To(to); err != nil {
		return err
	}
	m.Subject("benchmark message")
	m.SetBodyString(gomail.TypeTextPlain, body)
	if fresh {
		for range n {
			if err := c.DialAndSend(m); err != nil {
				return err
			}
		}
		return nil
	}
	if err := c.DialWithContext(context.Background()); err != nil {
		return err
	}
	for range n {
		if err := c.Send(m); err != nil {
			return err
		}
	}
	return c.Close()
}
