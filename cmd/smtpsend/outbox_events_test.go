package main

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"

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
	info, err := js.Conn().StreamInfo(bus.EventStream().Name, &nats.StreamInfoRequest{SubjectsFilter: bus.TopicMail})
	is.NoErr(err)                                           // the event stream exists
	is.Equal(info.State.Subjects[bus.TopicMail], uint64(n)) // one MailDone per delivered message
}
