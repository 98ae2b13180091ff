package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"sync"
	"time"

	"netstages/actors"
	"netstages/protocols/mail"
	"netstages/protocols/smtp"
	"netstages/protocols/smtp/smtptest"
)

// smtpStop serves an in-process go-smtp server (the outside oracle) on the
// mem network, composes a message with a non-ASCII subject, a Bcc and a
// binary attachment, sends it with the netstages SMTP client, and checks
// what arrived: envelope, decoded subject, no Bcc header, attachment bytes.
func smtpStop(ctx context.Context, t *tour) error {
	ln, err := t.net.Listen(ctx, "tcp", "mx:25")
	if err != nil {
		return err
	}
	b := &smtptest.Backend{}
	stopServer := smtptest.Start(ln, b, smtptest.Options{MaxMessageBytes: 1 << 20})
	defer stopServer()
	fmt.Fprintf(t.out, "go-smtp v0.25.1 serves SMTP on %s %s (PIPELINING, SIZE 1048576)\n", ln.Addr().Network(), ln.Addr())

	attachment := make([]byte, 3000)
	for i := range attachment {
		attachment[i] = byte(i * 7)
	}
	m := &mail.Message{
		From:        netmail.Address{Name: "Zoë", Address: "zoe@laptop.sim"},
		To:          []netmail.Address{{Name: "Bob", Address: "bob@mx.sim"}},
		Bcc:         []netmail.Address{{Address: "audit@mx.sim"}},
		Subject:     "Grüße from the tour",
		Text:        "The figures are attached.\n.a line starting with a dot\n",
		Attachments: []mail.Attachment{{Filename: "figures.bin", Data: attachment}},
	}
	raw, err := mail.Compose(m)
	if err != nil {
		return err
	}
	meter := actors.NewMeter()
	var mu sync.Mutex
	var dialogue []string
	cfg := smtp.Config{LocalName: "laptop.sim", Meter: meter, Timeouts: smtp.Timeouts{Other: 10 * time.Second},
		Trace: func(l string) { mu.Lock(); dialogue = append(dialogue, l); mu.Unlock() }}
	c, err := smtp.Dial(ctx, t.net, ln.Addr().String(), cfg)
	if err != nil {
		return err
	}
	res, err := c.Send(ctx, m.From.Address, m.Recipients(), raw)
	if err != nil {
		c.Abort()
		return err
	}
	if err := c.Close(); err != nil {
		return err
	}
	mu.Lock()
	for _, l := range dialogue {
		fmt.Fprintf(t.out, "  %s\n", l)
	}
	mu.Unlock()
	fmt.Fprintf(t.out, "sent %d octets to %v: %d %s\n", len(raw), res.Accepted, res.Reply.Code, res.Reply.Text())
	if err := checkArrived(b.Messages(), m, attachment); err != nil {
		return err
	}
	fmt.Fprintf(t.out, "arrived: envelope to bob and audit, subject %q decoded, no Bcc header, %d-byte attachment identical\n", m.Subject, len(attachment))
	t.showPipeline(meter)
	return nil
}

// checkArrived parses what the server stored with net/mail and
// mime/multipart and compares it with what was sent.
func checkArrived(got []smtptest.Received, m *mail.Message, attachment []byte) error {
	if len(got) != 1 {
		return fmt.Errorf("server stored %d messages, want 1", len(got))
	}
	if strings.Join(got[0].To, ",") != "bob@mx.sim,audit@mx.sim" {
		return fmt.Errorf("envelope recipients %v", got[0].To)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(got[0].Data))
	if err != nil {
		return err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != m.Subject {
		return fmt.Errorf("subject %q (%v)", subject, err)
	}
	if msg.Header.Get("Bcc") != "" || bytes.Contains(got[0].Data, []byte("audit@")) {
		return fmt.Errorf("the Bcc recipient shows in the message")
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err != nil {
			return fmt.Errorf("attachment not found: %w", err)
		}
		if p.FileName() != "figures.bin" {
			continue
		}
		data, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		if err != nil || !bytes.Equal(data, attachment) {
			return fmt.Errorf("attachment differs (%d bytes, %v)", len(data), err)
		}
		return nil
	}
}
