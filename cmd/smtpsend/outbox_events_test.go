package main

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/matryer/is"
	natsgo "github.com/nats-io/nats.go"

	"netstages/actors/bus"
	"netstages/actors/bus/embedded"
	"netstages/protocols/smtp/smtptest"
)

// TestUntilEmptyForwardsEveryMailEvent: a worker that exits by itself
// (-until-empty) still forwards the MailDone event of its last delivery to
// the event stream (the bus is closed after the worker, never cut off by
// the group's context), so a collector counts every message.
func TestUntilEmptyForwardsEveryMailEvent(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	b := &smtptest.Backend{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err) // the SMTP sink's port
	stop := smtptest.Start(ln, b, smtptest.Options{})
	defer func() { is.NoErr(stop()) }()

	const n = 3
	for i := range n {
		var out, errOut bytes.Buffer
		code := Run([]string{"-enqueue", "-state-dir", dir, "-from", "a@example.org",
			"-to", fmt.Sprintf("r%d@example.net", i), "-subject", "counted"}, strings.NewReader(""), &out, &errOut)
		is.Equal(code, 0) // enqueued
	}
	var out, errOut bytes.Buffer
	code := Run([]string{"-outbox-worker", "-until-empty", "-state-dir", dir, "-server", ln.Addr().String()}, strings.NewReader(""), &out, &errOut)
	is.Equal(code, 0)                                                // drained and exited
	is.Equal(b.Count(), n)                                           // every message delivered
	is.True(!strings.Contains(errOut.String(), "dropped forwarded")) // no event lost on the way out

	srv, err := embedded.Start(embedded.Config{Dir: dir})
	is.NoErr(err) // the same state, read back
	defer srv.Shutdown()
	js, err := bus.DialJetStream(srv.URL(), nil)
	is.NoErr(err) // connected
	defer js.Close()
	info, err := js.Conn().StreamInfo(bus.EventStream().Name, &natsgo.StreamInfoRequest{SubjectsFilter: bus.TopicMail})
	is.NoErr(err)                                           // the event stream exists
	is.Equal(info.State.Subjects[bus.TopicMail], uint64(n)) // one MailDone per delivered message
}

// TestDirectSendPublishesItsResult: without the outbox, -bus nats://...
// publishes the send's outcome as a mail.done event stamped with the
// instance (for cmd/collector): "sent", or "failed" with the server's
// reply; -bus mem (the default) publishes nothing anywhere, and anything
// else is a usage error.
func TestDirectSendPublishesItsResult(t *testing.T) {
	is := is.New(t)
	nats, err := embedded.Start(embedded.Config{Dir: t.TempDir()})
	is.NoErr(err) // NATS with JetStream on 127.0.0.1
	defer nats.Shutdown()
	b := &smtptest.Backend{RejectRcpt: map[string]*gosmtp.SMTPError{
		"nobody@example.net": {Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "No such user"},
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err) // the SMTP sink's port
	stop := smtptest.Start(ln, b, smtptest.Options{})
	defer func() { is.NoErr(stop()) }()

	send := func(busURL, to string) (int, string) {
		var out, errOut bytes.Buffer
		code := Run([]string{"-server", ln.Addr().String(), "-bus", busURL, "-instance", "mailer-7",
			"-from", "a@example.org", "-to", to, "-subject", "direct"}, strings.NewReader(""), &out, &errOut)
		return code, errOut.String()
	}
	code, _ := send(nats.URL(), "r@example.net")
	is.Equal(code, 0) // sent
	code, _ = send(nats.URL(), "nobody@example.net")
	is.Equal(code, 1) // refused
	code, _ = send("mem", "r@example.net")
	is.Equal(code, 0) // mem: sent, published nowhere else
	code, errOut := send("redis://x", "r@example.net")
	is.Equal(code, 2)                                                          // not a bus
	is.True(strings.Contains(errOut, `-bus "redis://x": want mem or nats://`)) // says so
	is.Equal(b.Count(), 2)                                                     // two messages accepted

	js, err := bus.DialJetStream(nats.URL(), nil)
	is.NoErr(err) // connected
	defer js.Close()
	sub, err := js.Conn().SubscribeSync(bus.TopicMail, natsgo.DeliverAll())
	is.NoErr(err) // read the mail events back
	defer sub.Unsubscribe()
	var got []bus.Stamped
	for range 2 {
		m, err := sub.NextMsg(10 * time.Second)
		is.NoErr(err) // an event
		s, err := bus.DecodeStamped(&message.Message{Payload: m.Data})
		is.NoErr(err) // in its envelope
		got = append(got, s)
	}
	_, err = sub.NextMsg(200 * time.Millisecond)
	is.True(err != nil) // and no third: mem published nothing to NATS
	sent, failed := got[0].Event.(bus.MailDone), got[1].Event.(bus.MailDone)
	is.Equal(got[0].Instance, "mailer-7")                   // stamped with the instance
	is.Equal(got[0].Schema, bus.Schema)                     // and the schema
	is.Equal(sent.Outcome, "sent")                          // the first was sent
	is.True(sent.MessageID != "")                           // with its Message-ID
	is.Equal(failed.Outcome, "failed")                      // the second refused
	is.Equal(failed.Code, 550)                              // with the code
	is.True(strings.Contains(failed.Reply, "No such user")) // and the reply
}
