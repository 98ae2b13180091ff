package main

import (
	"bytes"
	"context"
	netmail "net/mail"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"netstages/protocols/mail"
	"netstages/protocols/smtp"
	"netstages/protocols/smtp/smtptest"
	"netstages/sim"
	"netstages/sim/rdt"
	"netstages/transport"
)

// sendMail composes a message with an attachment, sends it with the smtp
// client (unchanged) from dialNet to a go-smtp server listening on
// listenNet at mx:25, and returns what the server received.
func sendMail(t *testing.T, listenNet, dialNet transport.Network, msg []byte) ([]smtptest.Received, error) {
	ctx := context.Background()
	ln, err := listenNet.Listen(ctx, "tcp", "mx:25")
	if err != nil {
		return nil, err
	}
	b := &smtptest.Backend{}
	stop := smtptest.Start(ln, b, smtptest.Options{})
	defer stop()
	c, err := smtp.Dial(ctx, dialNet, "mx:25", smtp.Config{})
	if err != nil {
		return nil, err
	}
	res, err := c.Send(ctx, "alice@example.com", []string{"bob@example.com"}, msg)
	if err != nil {
		c.Close()
		return nil, err
	}
	if len(res.Accepted) != 1 {
		t.Errorf("accepted %v", res.Accepted)
	}
	return b.Messages(), c.Close()
}

func TestSMTPWithAttachmentOverSimIsByteExactAgainstMem(t *testing.T) {
	is := is.New(t)
	attachment := make([]byte, 64<<10)
	for i := range attachment {
		attachment[i] = byte(i*31 + i/7)
	}
	msg, err := mail.Compose(&mail.Message{
		From: netmail.Address{Name: "Alice", Address: "alice@example.com"}, To: []netmail.Address{{Address: "bob@example.com"}},
		Subject: "the figures, over a lossy link", Date: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), MessageID: "netsim-1@example.com",
		Text: "Attached.\n", Attachments: []mail.Attachment{{Filename: "figures.bin", Data: attachment}},
	})
	is.NoErr(err) // composed
	var overSim, overMem []smtptest.Received
	var simErr, memErr error
	var dropped uint64
	synctest.Test(t, func(t *testing.T) {
		nw := sim.New(sim.Config{Seed: 5, Settle: true})
		defer nw.Close()
		f := sim.Faults{Latency: 10 * time.Millisecond, Loss: 0.05, Duplicate: 0.02, Reorder: 0.02, Corrupt: 0.02, MTU: 1500}
		l, _ := nw.Connect("laptop", "mx", f, f)
		cfg := rdt.Config{ARQ: rdt.SelectiveRepeat, Settle: true}
		laptop, _ := rdt.New(nw.Host("laptop"), cfg)
		mx, _ := rdt.New(nw.Host("mx"), cfg)
		overSim, simErr = sendMail(t, mx, laptop, msg)
		laptop.Wait(context.Background())
		mx.Wait(context.Background())
		dropped = l.Stats("laptop").DroppedTotal()
	})
	synctest.Test(t, func(t *testing.T) {
		n := memNetwork()
		overMem, memErr = sendMail(t, n, n, msg)
	})
	is.NoErr(simErr)     // sent over sim
	is.NoErr(memErr)     // and over mem
	is.True(dropped > 0) // the message crossed a lossy link
	is.Equal(len(overSim), 1)
	is.Equal(len(overMem), 1)
	is.True(bytes.Equal(overSim[0].Data, msg))             // the server got exactly the composed message
	is.True(bytes.Equal(overSim[0].Data, overMem[0].Data)) // the same bytes as over mem
	is.Equal(overSim[0].To, overMem[0].To)
}
