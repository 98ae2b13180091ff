package outbox_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/actors/bus"
	"netstages/actors/bus/embedded"
	"netstages/protocols/smtp/outbox"
)

// The test binary doubles as a worker process for the crash tests.
const workerEnv = "NETSTAGES_OUTBOX_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) != "" {
		os.Exit(workerMain())
	}
	goleak.VerifyTestMain(m)
}

const (
	testAckWait  = 4 * time.Second // deliveries end within 3 s even on a loaded CI box
	testNakDelay = 200 * time.Millisecond
)

func workerConfig(js *bus.JetStream, smtpAddr, name string) outbox.Config {
	return outbox.Config{
		JetStream: js, Server: smtpAddr, Name: name, AckWait: testAckWait, NakDelay: testNakDelay,
		Retry: outbox.Backoff{MaxRetries: 4, Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond},
	}
}

// workerMain runs one worker until SIGTERM, then prints its stats as JSON.
// NETSTAGES_OUTBOX_CRASH_AFTER names a Message-ID after whose recorded
// delivery the process SIGKILLs itself, before the ack.
func workerMain() int {
	js, err := bus.DialJetStream(os.Getenv("NETSTAGES_OUTBOX_NATS"), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer js.Close()
	cfg := workerConfig(js, os.Getenv("NETSTAGES_OUTBOX_SMTP"), os.Getenv(workerEnv))
	if crash := os.Getenv("NETSTAGES_OUTBOX_CRASH_AFTER"); crash != "" {
		cfg.AfterSent = func(id string) {
			if id == crash {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way
			}
		}
	}
	w, err := outbox.NewWorker(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		<-w.Running()
		fmt.Println("running")
	}()
	if err := w.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	line, _ := json.Marshal(w.Stats())
	fmt.Println(string(line))
	return 0
}

// worker is a worker subprocess.
type worker struct {
	cmd   *exec.Cmd
	lines chan string
}

func startWorker(t *testing.T, name, natsURL, smtpAddr, crashAfter string) *worker {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workerEnv+"="+name, "NETSTAGES_OUTBOX_NATS="+natsURL,
		"NETSTAGES_OUTBOX_SMTP="+smtpAddr, "NETSTAGES_OUTBOX_CRASH_AFTER="+crashAfter)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &worker{cmd: cmd, lines: make(chan string, 16)}
	go func() {
		defer close(w.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	select {
	case l := <-w.lines:
		if l != "running" {
			t.Fatalf("worker %s said %q", name, l)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("worker %s did not start", name)
	}
	return w
}

// stop ends a worker with SIGTERM and returns its stats.
func (w *worker) stop(t *testing.T) outbox.Stats {
	t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var st outbox.Stats
	for l := range w.lines {
		if err := json.Unmarshal([]byte(l), &st); err != nil {
			t.Fatalf("worker output %q: %v", l, err)
		}
	}
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("worker: %v", err)
	}
	return st
}

// kill SIGKILLs a worker and waits until it is gone.
func (w *worker) kill(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = w.cmd.Wait()
}

// fixture is a NATS server, a connection to it, a publisher and a sink.
type fixture struct {
	srv  *embedded.Server
	js   *bus.JetStream
	sink *sink
	smtp string
}

func newFixture(t *testing.T, s *sink) *fixture {
	t.Helper()
	srv, err := embedded.Start(embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	js, err := bus.DialJetStream(srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(js.Close)
	if err := js.EnsureStream(outbox.Stream()); err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, js: js, sink: s, smtp: s.start(t)}
}

// enqueue stores n messages m00..m(n-1) addressed to m00@example.net...
func (f *fixture) enqueue(t *testing.T, prefix string, n int) []string {
	t.Helper()
	pub, err := f.js.Publisher(true)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Close() }()
	ids := make([]string, n)
	for i := range n {
		to := fmt.Sprintf("%s%02d@example.net", prefix, i)
		id, err := outbox.Enqueue(pub, "sender@example.org", []string{to}, message(fmt.Sprintf("%s%02d@example.org", prefix, i), to))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// settled says whether the workers' consumer has nothing left to deliver
// or acknowledge.
func (f *fixture) settled() bool {
	info, err := f.js.Conn().ConsumerInfo(outbox.Stream().Name, "outbox_netstages_outbox")
	return err == nil && info.NumPending == 0 && info.NumAckPending == 0
}

func (f *fixture) exactlyOnce(t *testing.T, ids []string) {
	t.Helper()
	eventually(t, 60*time.Second, "every message delivered and acked", func() bool {
		return f.sink.distinct() == len(ids) && f.settled()
	})
	got := f.sink.snapshot()
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("message %s accepted %d times, want exactly once", id, got[id])
		}
	}
}

func TestWorkerKilledMidDeliveryLosesNothingAndSendsNothingTwice(t *testing.T) {
	is := is.New(t)
	s := newSink()
	s.holdRcpt = "kill03@example.net" // the 4th message's RCPT waits for the kill
	f := newFixture(t, s)
	ids := f.enqueue(t, "kill", 8)
	w1 := startWorker(t, "w1", f.srv.URL(), f.smtp, "")
	select {
	case <-s.held:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker never reached the 4th message")
	}
	w1.kill(t) // SIGKILL in the middle of the SMTP transaction
	s.unhold()
	is.Equal(s.count(ids[3]), 0) // the killed transaction delivered nothing
	is.Equal(s.distinct(), 3)    // the first three were delivered before it
	// Two workers now share the outbox.
	w2 := startWorker(t, "w2", f.srv.URL(), f.smtp, "")
	w3 := startWorker(t, "w3", f.srv.URL(), f.smtp, "")
	f.exactlyOnce(t, ids)
	st2, st3 := w2.stop(t), w3.stop(t)
	is.Equal(st2.Sent+st3.Sent, uint64(8-3))         // together they sent the rest, the 4th included
	is.Equal(st2.Takeovers+st3.Takeovers, uint64(1)) // one of them took over the dead worker's claim on the 4th
}

func TestWorkerKilledBetweenSentAndAckDoesNotResend(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, newSink())
	ids := f.enqueue(t, "ack", 6)
	w1 := startWorker(t, "w1", f.srv.URL(), f.smtp, ids[2]) // dies after recording the 3rd, before its ack
	is.True(w1.cmd.Wait() != nil)                           // it SIGKILLed itself after the 3rd message's delivery was recorded
	eventually(t, 10*time.Second, "the 3rd message accepted", func() bool { return f.sink.count(ids[2]) == 1 })
	w2 := startWorker(t, "w2", f.srv.URL(), f.smtp, "")
	f.exactlyOnce(t, ids)
	st := w2.stop(t)
	is.Equal(st.Duplicates, uint64(1)) // the redelivered 3rd was found in the ledger and not sent again
	is.Equal(st.Sent, uint64(3))       // the restarted worker sent the other three
}

func TestTemporaryFailureIsRetriedAndPermanentOneIsDeadLettered(t *testing.T) {
	is := is.New(t)
	s := newSink()
	s.tempFail["temp@example.net"] = 2 // two 451s, then accepted
	s.reject["bad@example.net"] = true // 554 at the end of data
	f := newFixture(t, s)
	pub, err := f.js.Publisher(true)
	is.NoErr(err)
	defer func() { is.NoErr(pub.Close()) }()
	ok, err := outbox.Enqueue(pub, "a@example.org", []string{"ok@example.net"}, message("ok@example.org", "ok@example.net"))
	is.NoErr(err)
	temp, err := outbox.Enqueue(pub, "a@example.org", []string{"temp@example.net"}, message("temp@example.org", "temp@example.net"))
	is.NoErr(err)
	bad, err := outbox.Enqueue(pub, "a@example.org", []string{"bad@example.net"}, message("bad@example.org", "bad@example.net"))
	is.NoErr(err)
	_, err = outbox.Enqueue(pub, "a@example.org", []string{"ok@example.net"}, message("ok@example.org", "ok@example.net"))
	is.NoErr(err) // the same Message-ID again: JetStream keeps it once
	half, err := outbox.Enqueue(pub, "a@example.org", []string{"half@example.net", "nobody@example.net"}, message("half@example.org", "half@example.net"))
	is.NoErr(err) // one recipient accepted, one refused

	deadSub, err := f.js.Subscriber(bus.SubscriberConfig{})
	is.NoErr(err)
	defer func() { is.NoErr(deadSub.Close()) }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dead, err := deadSub.Subscribe(ctx, outbox.DeadTopic)
	is.NoErr(err)

	cfg := workerConfig(f.js, f.smtp, "in-process")
	if testing.Verbose() {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	w, err := outbox.NewWorker(cfg)
	is.NoErr(err)
	var wg sync.WaitGroup
	wg.Go(func() { is.NoErr(w.Run(ctx)) })
	defer wg.Wait()
	defer cancel()

	letters := map[string]string{} // Message-ID → reason
	for len(letters) < 2 {
		select {
		case msg := <-dead:
			msg.Ack()
			it, err := outbox.DecodeItem(msg.Payload)
			is.NoErr(err) // a dead letter is an outbox item
			letters[it.MessageID] = msg.Metadata.Get(outbox.ReasonKey)
			if it.MessageID == half {
				is.Equal(it.To, []string{"nobody@example.net"}) // only the refused recipient
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("dead letters %v; sink %v, stats %+v", letters, s.snapshot(), w.Stats())
		}
	}
	is.True(strings.Contains(letters[bad], "554") && strings.Contains(letters[bad], "refused by policy"))    // with the server's reason
	is.True(strings.Contains(letters[half], "550") && strings.Contains(letters[half], "nobody@example.net")) // the refused recipient, with its reply
	eventually(t, 30*time.Second, "ok, temp and half delivered", func() bool {
		return f.sink.count(ok) == 1 && f.sink.count(temp) == 1 && f.sink.count(half) == 1
	})
	eventually(t, 10*time.Second, "consumer settled", f.settled)
	is.Equal(s.rcptCount("temp@example.net"), 3) // two refusals, then accepted: retried with backoff
	is.Equal(s.count(ok), 1)                     // enqueued twice, sent once
	is.Equal(s.count(bad), 0)                    // never accepted
	st := w.Stats()
	is.Equal(st.Sent, uint64(3))      // ok, temp and half
	is.Equal(st.Temporary, uint64(2)) // the two 451s
	is.Equal(st.Dead, uint64(2))      // bad, and half's refused recipient

	// A copy of an already sent message published without dedupe (as after
	// the stream's Duplicates window) is stopped by the ledger.
	raw, err := f.js.Publisher(false)
	is.NoErr(err)
	defer func() { is.NoErr(raw.Close()) }()
	it, err := outbox.NewItem("a@example.org", []string{"ok@example.net"}, message("ok@example.org", "ok@example.net"))
	is.NoErr(err)
	is.NoErr(outbox.Publish(raw, it))
	eventually(t, 10*time.Second, "the copy handled", func() bool { return w.Stats().Duplicates == 1 && f.settled() })
	is.Equal(s.count(ok), 1) // still once

	// A worker that stops leaves the group's consumer where it was: the next
	// worker must not start over from the beginning of the stream.
	cancel()
	wg.Wait()
	is.True(f.settled()) // the durable consumer survived its last subscriber, everything acked
	w2, err := outbox.NewWorker(cfg)
	is.NoErr(err)
	ctx2, cancel2 := context.WithCancel(context.Background())
	wg.Go(func() { is.NoErr(w2.Run(ctx2)) })
	<-w2.Running()
	idle, err := w2.Idle()
	is.NoErr(err)
	is.True(idle) // nothing to redeliver
	cancel2()
	wg.Wait()
	is.Equal(w2.Stats(), outbox.Stats{}) // the second worker did nothing
}

// TestBacklogIsSharedByTheWorkers: messages waiting before any worker
// starts are spread over the workers that join, not all handed to the
// first one (each worker fetches one message at a time).
func TestBacklogIsSharedByTheWorkers(t *testing.T) {
	is := is.New(t)
	s := newSink()
	s.dataDelay = 50 * time.Millisecond // a slow server: one worker alone would need 3 s
	f := newFixture(t, s)
	ids := f.enqueue(t, "backlog", 60)
	workers := make([]*outbox.Worker, 3)
	for i := range workers {
		w, err := outbox.NewWorker(workerConfig(f.js, f.smtp, fmt.Sprintf("w%d", i+1)))
		is.NoErr(err)
		workers[i] = w
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, w := range workers { // all three subscribe at about the same time
		wg.Go(func() { is.NoErr(w.Run(ctx)) })
	}
	f.exactlyOnce(t, ids)
	cancel()
	wg.Wait()
	var sent []uint64
	var total uint64
	for _, w := range workers {
		st := w.Stats()
		sent = append(sent, st.Sent)
		total += st.Sent
		is.True(st.Sent > 0) // every worker got a share of the backlog
	}
	t.Logf("sent per worker: %v", sent)
	is.Equal(total, uint64(len(ids))) // and together they sent each message once
	info, err := f.js.Conn().ConsumerInfo(outbox.Stream().Name, "outbox_netstages_outbox")
	is.NoErr(err)
	is.Equal(info.Config.MaxAckPending, 1000) // the default MaxInFlight, set on the group's consumer
	is.Equal(info.Config.DeliverSubject, "")  // a pull consumer
}

func TestEnqueueRefusesMessagesWithoutMessageID(t *testing.T) {
	is := is.New(t)
	_, err := outbox.NewItem("a@example.org", []string{"b@example.net"}, []byte("Subject: x\r\n\r\nbody\r\n"))
	is.True(err != nil) // no Message-ID: no idempotency key
	_, err = outbox.NewItem("a@example.org", nil, message("x@y", "b@example.net"))
	is.True(err != nil) // no recipients
	_, err = outbox.DecodeItem([]byte(`{"schema":99}`))
	is.True(err != nil) // a future schema is refused
}
