package main

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/matryer/is"

	"netstages/protocols/smtp/smtptest"
)

// TestEnqueueThenOutboxWorkerDelivers runs smtpsend as a user would on one
// machine: two -enqueue runs store messages under -state-dir (each run
// starts and stops the embedded NATS server, so the outbox survives
// restarts), then -outbox-worker -until-empty delivers them and exits; a
// second worker run sends nothing again.
func TestEnqueueThenOutboxWorkerDelivers(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	b := &smtptest.Backend{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	stop := smtptest.Start(ln, b, smtptest.Options{})
	defer func() { is.NoErr(stop()) }()

	for i := range 2 {
		var out, errOut bytes.Buffer
		code := Run([]string{"-enqueue", "-state-dir", dir, "-from", "a@example.org",
			"-to", fmt.Sprintf("r%d@example.net", i), "-subject", fmt.Sprintf("queued %d", i)}, strings.NewReader(""), &out, &errOut)
		is.Equal(code, 0)                                               // enqueued
		is.True(strings.Contains(out.String(), "smtpsend: enqueued <")) // with its Message-ID
	}
	is.Equal(b.Count(), 0) // nothing sent by -enqueue

	worker := []string{"-outbox-worker", "-until-empty", "-state-dir", dir, "-server", ln.Addr().String()}
	var out, errOut bytes.Buffer
	code := Run(worker, strings.NewReader(""), &out, &errOut)
	is.Equal(code, 0)                                                       // drained and exited
	is.Equal(b.Count(), 2)                                                  // both delivered
	is.True(strings.Contains(out.String(), "2 sent, 0 duplicates skipped")) // as reported
	msgs := b.Messages()
	is.True(strings.Contains(string(msgs[0].Data)+string(msgs[1].Data), "Subject: queued 1")) // the composed messages

	out.Reset()
	code = Run(worker, strings.NewReader(""), &out, &errOut)
	is.Equal(code, 0)                                                       // an empty outbox
	is.Equal(b.Count(), 2)                                                  // nothing sent twice
	is.True(strings.Contains(out.String(), "0 sent, 0 duplicates skipped")) // and nothing even redelivered
}

func TestOutboxFlagsNeedABus(t *testing.T) {
	is := is.New(t)
	var out, errOut bytes.Buffer
	code := Run([]string{"-enqueue", "-from", "a@example.org", "-to", "b@example.net"}, strings.NewReader(""), &out, &errOut)
	is.Equal(code, 2) // -enqueue without -bus or -state-dir is a usage error
	code = Run([]string{"-outbox-worker", "-state-dir", t.TempDir()}, strings.NewReader(""), &out, &errOut)
	is.Equal(code, 2) // a worker needs -server
	code = Run([]string{"-outbox-worker", "-state-dir", t.TempDir(), "-server", "127.0.0.1:25", "-max-in-flight", "0"}, strings.NewReader(""), &out, &errOut)
	is.Equal(code, 2)                                                               // nothing could ever be handed out
	is.True(strings.Contains(errOut.String(), "-max-in-flight must be at least 1")) // and the message says so
	errOut.Reset()
	code = Run([]string{"-enqueue", "-bus", "mem", "-from", "a@example.org", "-to", "b@example.net"}, strings.NewReader(""), &out, &errOut)
	is.Equal(code, 2)                                                                                            // the in-process bus cannot hold an outbox
	is.True(strings.Contains(errOut.String(), "the outbox lives in NATS JetStream: give -bus nats://HOST:PORT")) // and the message says what to give
}
