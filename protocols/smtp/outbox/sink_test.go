package outbox_test

import (
	"errors"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"netstages/protocols/smtp/outbox"
)

// sink is the SMTP oracle: a go-smtp server that counts, per Message-ID,
// how many times it accepted a message, and can refuse or hold recipients.
type sink struct {
	mu       sync.Mutex
	accepted map[string]int // Message-ID → times accepted
	rcpts    map[string]int // recipient → RCPT commands seen
	tempFail map[string]int // recipient → 451 replies still to give
	reject   map[string]bool
	holdRcpt string        // this recipient's first RCPT waits...
	held     chan struct{} // ...after closing held...
	release  chan struct{} // ...until release is closed
	// dataDelay holds every end-of-data reply this long: a server that is
	// slow to answer (far away, or scanning), for the latency-bound
	// benchmark.
	dataDelay time.Duration
}

func newSink() *sink {
	return &sink{accepted: map[string]int{}, rcpts: map[string]int{}, tempFail: map[string]int{},
		reject: map[string]bool{}, held: make(chan struct{}), release: make(chan struct{})}
}

// start serves the sink on 127.0.0.1 until the test ends.
func (s *sink) start(t *testing.T) string { return s.startB(t) }

// startB serves the sink on 127.0.0.1 until the test or benchmark ends.
func (s *sink) startB(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := gosmtp.NewServer(s)
	srv.Domain = "sink.test"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		s.unhold()
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, gosmtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			t.Errorf("sink: %v", err)
		}
	})
	return ln.Addr().String()
}

func (s *sink) unhold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.release:
	default:
		close(s.release)
	}
}

func (s *sink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted[id]
}

func (s *sink) rcptCount(addr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rcpts[addr]
}

// distinct returns how many Message-IDs were accepted at least once.
func (s *sink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accepted)
}

func (s *sink) snapshot() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.accepted {
		out[k] = v
	}
	return out
}

func (s *sink) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct {
	s   *sink
	to  []string
	bad bool
}

func (ss *sinkSession) Mail(string, *gosmtp.MailOptions) error { return nil }

func (ss *sinkSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s := ss.s
	s.mu.Lock()
	s.rcpts[to]++
	hold := to == s.holdRcpt && s.rcpts[to] == 1
	temp := s.tempFail[to] > 0
	if temp {
		s.tempFail[to]--
	}
	if s.reject[to] {
		ss.bad = true
	}
	s.mu.Unlock()
	if hold {
		close(s.held)
		<-s.release
	}
	if to == "nobody@example.net" {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	if temp {
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if ss.bad {
		return &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "message refused by policy"}
	}
	id, err := outbox.MessageID(data)
	if err != nil {
		return &gosmtp.SMTPError{Code: 550, Message: "no Message-ID"}
	}
	time.Sleep(ss.s.dataDelay)
	ss.s.mu.Lock()
	ss.s.accepted[id]++
	ss.s.mu.Unlock()
	return nil
}

func (ss *sinkSession) Reset()        { ss.to, ss.bad = nil, false }
func (ss *sinkSession) Logout() error { return nil }

// message is a minimal RFC 5322 message with a Message-ID.
func message(id, to string) []byte {
	return []byte("From: sender@example.org\r\nTo: " + to + "\r\nSubject: outbox " + id +
		"\r\nMessage-ID: <" + id + ">\r\nDate: Wed, 25 Nov 2026 12:00:00 +0000\r\n\r\n" +
		strings.Repeat("body line\r\n", 3))
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
