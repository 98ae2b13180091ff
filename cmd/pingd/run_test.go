package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/protocols/ping"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer collects output written by pingd's goroutines while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startPingd runs pingd with args on 127.0.0.1:0; stop ends it (as SIGTERM
// would) and returns its exit code.
func startPingd(t *testing.T, args ...string) (addr string, stdout, stderr *syncBuffer, stop func() int) {
	t.Helper()
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	code := make(chan int, 1)
	go func() { code <- Run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), stdout, stderr, ready) }()
	select {
	case addr = <-ready:
	case c := <-code:
		cancel()
		t.Fatalf("pingd exited %d: %s", c, stderr)
	}
	return addr, stdout, stderr, func() int {
		cancel()
		return <-code
	}
}

// TestTextbookPythonClient runs the course's client (Ping <seq> <HH:MM:SS>,
// 1 s timeout) against pingd -loss 0.3 -seed 1: every answer is the
// upper-cased request, and the timeouts fall exactly on pingd's seeded drops.
// It runs against both -fused (the default) and -fused=false.
func TestTextbookPythonClient(t *testing.T) {
	for _, fused := range []string{"-fused=true", "-fused=false"} {
		t.Run(fused, func(t *testing.T) { textbookPythonClient(t, fused) })
	}
}

func textbookPythonClient(t *testing.T, fused string) {
	is := is.New(t)
	python, err := exec.LookPath("python3")
	is.NoErr(err) // python3 is needed (Makefile DEB_PACKAGES)
	addr, stdout, _, stop := startPingd(t, "-loss", "0.3", "-seed", "1", fused)
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(python, "testdata/udp_pinger_client.py", host, port).Output()
	is.NoErr(err) // the Python client ran
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	is.Equal(len(lines), 11) // ten pings and a total
	drops := ping.Drops(1, 0.3, 10)
	lost := 0
	for i, dropped := range drops {
		if dropped {
			lost++
			is.Equal(lines[i], "Request timed out") // a seeded drop
			continue
		}
		prefix := fmt.Sprintf("Reply for PING %d ", i+1)
		is.True(strings.HasPrefix(lines[i], prefix)) // upper-cased echo of "Ping <seq> <HH:MM:SS>"
		is.True(strings.Contains(lines[i], " :: RTT "))
	}
	is.True(lost > 0)
	is.Equal(lines[10], fmt.Sprintf("sent 10, received %d, lost %d", 10-lost, lost))
	is.Equal(stop(), 0) // SIGTERM-like stop is a clean exit
	is.True(strings.Contains(stdout.String(), fmt.Sprintf("pingd: stopped; 10 datagrams, %d echoed, %d dropped (-loss), 0 malformed", 10-lost, lost)))
}

// TestHeartbeatDownBackAndGapsReachLogAndBus sends heartbeats 1, 2, then
// silence, then 5: pingd logs the client down, back, and 2 lost
// heartbeats, and its bus subscriber counts one down and one back.
func TestHeartbeatDownBackAndGapsReachLogAndBus(t *testing.T) {
	is := is.New(t)
	addr, stdout, stderr, stop := startPingd(t, "-heartbeat-timeout", "150ms")
	conn, err := net.Dial("udp", addr)
	is.NoErr(err)
	defer conn.Close()
	beat := func(seq uint64) {
		conn.Write(ping.AppendRequest(nil, seq, time.Now(), true, 0))
		buf := make([]byte, 100)
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := conn.Read(buf)
		is.NoErr(err)                                             // echoed
		is.True(strings.HasSuffix(string(buf[:n]), " HEARTBEAT")) // upper-cased
	}
	beat(1)
	beat(2)
	client := conn.LocalAddr().String()
	waitFor(t, func() bool {
		return strings.Contains(stderr.String(), `msg="client `+client+` down" cmd=pingd last_seq=2`)
	})
	beat(5)
	waitFor(t, func() bool { return strings.Contains(stderr.String(), `msg="client `+client+` back"`) })
	is.True(strings.Contains(stderr.String(), `msg="lost 2 heartbeats from `+client+` (seq 3-4)"`))
	is.Equal(stop(), 0)
	is.True(strings.HasSuffix(stdout.String(), "1 clients went down, 1 came back\n")) // counted from bus events
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMalformedDatagramsAreCountedNotFatal(t *testing.T) {
	is := is.New(t)
	addr, stdout, _, stop := startPingd(t, "-echo", "same")
	conn, err := net.Dial("udp", addr)
	is.NoErr(err)
	defer conn.Close()
	for _, d := range []string{"GET / HTTP/1.1", "\x00\xff", "ping 1 lower-case", "Ping 1 fine"} {
		conn.Write([]byte(d))
	}
	buf := make([]byte, 100)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := conn.Read(buf)
	is.NoErr(err)
	is.Equal(string(buf[:n]), "Ping 1 fine") // -echo same; the malformed ones did not stall it
	is.Equal(stop(), 0)
	is.True(strings.Contains(stdout.String(), "4 datagrams, 1 echoed, 0 dropped (-loss), 3 malformed"))
}

func TestUsageErrorsExitTwo(t *testing.T) {
	is := is.New(t)
	for _, args := range [][]string{
		{"-loss", "1.5"}, {"-loss", "-0.1"}, {"-loss", "NaN"}, {"-echo", "lower"}, {"-delay", "-1s"}, {"-addr", "12000"}, {"-addr", "127.0.0.1:99999"}, {"extra"}, {"-nosuch"},
	} {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), args, &out, &errOut, nil)
		is.Equal(code, 2) // usage error
		is.True(strings.Contains(errOut.String(), "usage: pingd "))
	}
}

func TestAddressInUseExitsOne(t *testing.T) {
	is := is.New(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	is.NoErr(err)
	defer pc.Close()
	var out, errOut bytes.Buffer
	is.Equal(Run(context.Background(), []string{"-addr", pc.LocalAddr().String()}, &out, &errOut, nil), 1)
	is.True(strings.Contains(errOut.String(), "address already in use"))
}
