package main

import (
	"bytes"
	"fmt"
	"net"
	"net/mail"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/actors/bus/embedded"
	"netstages/cmd/internal/clitest"
	"netstages/protocols/smtp/smtptest"
)

// lockedBuffer is a child's output, read while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWorkersShareOneOutbox is "several workers share one outbox" with real
// processes: one NATS JetStream server on 127.0.0.1, three
// `smtpsend -outbox-worker -bus nats://...` processes, 60 messages stored by
// 60 `smtpsend -enqueue` runs (four at a time): the go-smtp sink receives
// each Message-ID exactly once, and the work is spread over more than one
// worker (each worker fetches the next message when it is free).
func TestWorkersShareOneOutbox(t *testing.T) {
	is := is.New(t)
	bin := clitest.Build(t, ".")
	nats, err := embedded.Start(embedded.Config{Dir: t.TempDir()})
	is.NoErr(err) // NATS with JetStream on 127.0.0.1
	defer nats.Shutdown()
	b := &smtptest.Backend{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	stopSink := smtptest.Start(ln, b, smtptest.Options{})
	defer func() { is.NoErr(stopSink()) }()

	// Three workers, started before anything is enqueued.
	const nWorkers, nMessages = 3, 60
	type worker struct {
		cmd         *exec.Cmd
		out, errOut lockedBuffer
		done        chan error
	}
	workers := make([]*worker, nWorkers)
	for i := range workers {
		w := &worker{done: make(chan error, 1)}
		w.cmd = exec.Command(bin, "-outbox-worker", "-bus", nats.URL(), "-server", ln.Addr().String(),
			"-instance", fmt.Sprintf("worker-%d", i+1))
		w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.errOut
		is.NoErr(w.cmd.Start()) // a worker process
		go func() { w.done <- w.cmd.Wait() }()
		t.Cleanup(func() {
			if w.cmd.ProcessState == nil {
				_ = w.cmd.Process.Kill()
				<-w.done
			}
		})
		workers[i] = w
	}
	for _, w := range workers {
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(w.errOut.String(), "outbox worker delivering to") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		is.True(strings.Contains(w.errOut.String(), "outbox worker delivering to")) // the worker is up
	}

	// 60 -enqueue runs, four at a time.
	ids := make([]string, nMessages)
	idRe := regexp.MustCompile(`smtpsend: enqueued <([^>]+)> for 1 recipient`)
	var wg sync.WaitGroup
	slots := make(chan struct{}, 4)
	errs := make(chan error, nMessages)
	for i := range nMessages {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			out, err := exec.Command(bin, "-enqueue", "-bus", nats.URL(), "-from", "a@example.org",
				"-to", fmt.Sprintf("r%d@example.net", i), "-subject", fmt.Sprintf("fleet %d", i)).CombinedOutput()
			m := idRe.FindSubmatch(out)
			if err != nil || m == nil {
				errs <- fmt.Errorf("enqueue %d: %v\n%s", i, err, out)
				return
			}
			ids[i] = string(m[1])
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		is.NoErr(err) // every -enqueue run stored its message
	}

	deadline := time.Now().Add(60 * time.Second)
	for b.Count() < nMessages && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	is.Equal(b.Count(), nMessages) // all delivered

	// Stop the workers (SIGTERM: the message in hand finishes) and read
	// what each one sent.
	statRe := regexp.MustCompile(`outbox worker stopped; (\d+) sent, (\d+) duplicates skipped`)
	var sent []int
	total, busy := 0, 0
	for _, w := range workers {
		is.NoErr(w.cmd.Process.Signal(syscall.SIGTERM))
	}
	for _, w := range workers {
		select {
		case err := <-w.done:
			is.NoErr(err) // exit 0 on SIGTERM
		case <-time.After(30 * time.Second):
			t.Fatalf("worker did not stop:\n%s", w.errOut.String())
		}
		m := statRe.FindStringSubmatch(w.out.String())
		is.True(m != nil) // the worker reports its counts
		n, _ := strconv.Atoi(m[1])
		is.Equal(m[2], "0") // nothing was redelivered to a worker
		sent = append(sent, n)
		total += n
		if n > 0 {
			busy++
		}
	}
	t.Logf("messages sent per worker: %v", sent)
	is.Equal(total, nMessages) // the workers' counts add up to the sink's
	is.True(busy >= 2)         // the work was spread over more than one worker

	// The sink saw every enqueued Message-ID exactly once.
	var got []string
	for _, r := range b.Messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(r.Data))
		is.NoErr(err) // a well-formed message
		got = append(got, strings.Trim(msg.Header.Get("Message-Id"), "<>"))
	}
	slices.Sort(got)
	slices.Sort(ids)
	is.Equal(got, ids) // each message once, none twice, none missing

	// A last worker run finds nothing left to deliver.
	out, err := exec.Command(bin, "-outbox-worker", "-until-empty", "-bus", nats.URL(), "-server", ln.Addr().String()).Output()
	is.NoErr(err)                                                          // drained and exited
	is.True(strings.Contains(string(out), "0 sent, 0 duplicates skipped")) // nothing pending
	is.Equal(b.Count(), nMessages)                                         // nothing sent twice
}
