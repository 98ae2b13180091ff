package main

import (
	"bufio"
	"bytes"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/cmd/internal/clitest"
	"netstages/protocols/smtp/smtptest"
)

// TestOutboxWorkerLiveStagesInChromium runs the long-running SMTP client,
// smtpsend -outbox-worker, as its own process with -status-addr, and opens
// /debug/stages in headless Chromium: the page loads and shows every stage
// of the SMTP session with zero counts; a message enqueued then is
// delivered by a session whose counts the page shows by itself (no
// reload); SIGTERM stops the worker cleanly.
func TestOutboxWorkerLiveStagesInChromium(t *testing.T) {
	is := is.New(t)
	b := &smtptest.Backend{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err) // the SMTP server's port
	stopSMTP := smtptest.Start(ln, b, smtptest.Options{})
	defer func() { is.NoErr(stopSMTP()) }()

	bin := clitest.Build(t, ".") // the real smtpsend
	worker := exec.Command(bin, "-outbox-worker", "-state-dir", t.TempDir(), "-server", ln.Addr().String(), "-status-addr", "127.0.0.1:0")
	stderr, err := worker.StderrPipe()
	is.NoErr(err) // stderr pipe
	var stdout bytes.Buffer
	worker.Stdout = &stdout
	is.NoErr(worker.Start())
	defer worker.Process.Kill()
	lines := bufio.NewScanner(stderr)
	var natsURL, pageURL string
	for (natsURL == "" || pageURL == "") && lines.Scan() {
		if m := regexp.MustCompile(`embedded NATS JetStream on (\S+)`).FindStringSubmatch(lines.Text()); m != nil {
			natsURL = m[1]
		}
		if m := regexp.MustCompile(`live stages on (http://\S+/debug/stages)`).FindStringSubmatch(lines.Text()); m != nil {
			pageURL = m[1]
		}
	}
	is.True(natsURL != "" && pageURL != "") // the worker says where its outbox and its live view are
	go func() {
		for lines.Scan() {
		}
	}()

	page := clitest.OpenStages(t, pageURL, "writer")
	page.ShowsStages("reader", "framer", "parser", "session", "writer") // the SMTP session's stages, picture and table
	is.Equal(page.In("writer"), uint64(0))                              // no session yet
	is.Equal(page.Text(`.pipeline .started`), "0")

	var out, errOut bytes.Buffer
	code := Run([]string{"-enqueue", "-bus", natsURL, "-from", "a@example.org", "-to", "b@example.net", "-subject", "live"},
		strings.NewReader(""), &out, &errOut)
	is.Equal(code, 0) // enqueued into the worker's outbox

	page.WaitStarted(1)      // a session ran for it
	page.WaitIn("writer", 1) // and its writer's count moved on the page by itself
	page.WaitIn("session", 1)
	deadline := time.Now().Add(30 * time.Second)
	for b.Count() < 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	is.Equal(b.Count(), 1) // the message arrived

	page.Close()
	is.NoErr(worker.Process.Signal(syscall.SIGTERM)) // stop the worker
	is.NoErr(worker.Wait())                          // it exits cleanly
	is.True(strings.Contains(stdout.String(), "1 sent"))
}

func TestStatusAddrNeedsOutboxWorker(t *testing.T) {
	is := is.New(t)
	var out, errOut bytes.Buffer
	code := Run([]string{"-status-addr", "127.0.0.1:0", "-server", "127.0.0.1:25", "-from", "a@example.org", "-to", "b@example.net"}, strings.NewReader(""), &out, &errOut)
	is.Equal(code, 2)                                                                   // usage error
	is.True(strings.Contains(errOut.String(), "-status-addr goes with -outbox-worker")) // saying why
	errOut.Reset()
	code = Run([]string{"-outbox-worker", "-state-dir", t.TempDir(), "-server", "127.0.0.1:25", "-status-addr", "nocolon"}, strings.NewReader(""), &out, &errOut)
	is.Equal(code, 2)                                                                    // a bad address is a usage error
	is.True(strings.Contains(errOut.String(), `-status-addr: address "nocolon" is not`)) // naming the flag
}
