package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/actors"
	"netstages/protocols/ping"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runPing(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// syncBuffer collects a child's stderr while the test reads it.
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

// TestAgainstTextbookPythonServer pings the course's Python server, which
// upper-cases the echo and drops about 4 in 11 requests; it reports each
// drop on stderr, so every "request timeout" can be checked against it.
// It runs with -fused (the default) and -fused=false.
func TestAgainstTextbookPythonServer(t *testing.T) {
	for _, fused := range []string{"-fused=true", "-fused=false"} {
		t.Run(fused, func(t *testing.T) { againstTextbookPythonServer(t, fused) })
	}
}

func againstTextbookPythonServer(t *testing.T, fused string) {
	is := is.New(t)
	python, err := exec.LookPath("python3")
	is.NoErr(err) // python3 is needed (Makefile DEB_PACKAGES)
	srv := exec.Command(python, "testdata/udp_pinger_server.py", "0", "3")
	var srvErr syncBuffer
	srv.Stderr = &srvErr
	stdout, err := srv.StdoutPipe()
	is.NoErr(err)
	is.NoErr(srv.Start()) // start the Python server
	defer func() {
		srv.Process.Kill()
		srv.Wait()
	}()
	portLine, err := bufio.NewReader(stdout).ReadString('\n')
	is.NoErr(err) // the server prints its port
	port := strings.TrimSpace(portLine)

	const count = 30
	code, out, _ := runPing(context.Background(), fused, "-c", strconv.Itoa(count), "-i", "5ms", "-W", "1s", "127.0.0.1:"+port)
	is.Equal(code, 0) // replies arrived
	drops := regexp.MustCompile(`dropped PING (\d+) `).FindAllStringSubmatch(srvErr.String(), -1)
	is.True(len(drops) > 0 && len(drops) < count) // the textbook server drops some, not all
	for _, d := range drops {
		is.True(strings.Contains(out, "request timeout for seq="+d[1]+"\n")) // each drop is a timeout
	}
	is.Equal(strings.Count(out, "reply from 127.0.0.1:"+port+": seq="), count-len(drops)) // every other request answered
	is.True(strings.Contains(out, fmt.Sprintf("%d packets transmitted, %d received, +0 duplicates", count, count-len(drops))))
}

// startPingd serves pingd in-process on 127.0.0.1.
func startPingd(t *testing.T, cfg ping.ServerConfig) (string, func()) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ping.NewServer(pc, cfg, actors.NewMeter())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(context.Background()) }()
	return pc.LocalAddr().String(), func() {
		srv.Stop()
		if err := <-done; err != nil {
			t.Errorf("pingd: %v", err)
		}
	}
}

func TestJSONLinesAndSummaryAgainstPingd(t *testing.T) {
	for _, fused := range []bool{true, false} {
		t.Run(fmt.Sprintf("fused=%v", fused), func(t *testing.T) { jsonLinesAndSummary(t, fused) })
	}
}

// jsonLinesAndSummary runs ping -json against pingd, both with stages fused
// or not.
func jsonLinesAndSummary(t *testing.T, fused bool) {
	is := is.New(t)
	addr, stop := startPingd(t, ping.ServerConfig{Loss: 0.3, Seed: 1, Fused: fused})
	defer stop()
	code, out, _ := runPing(context.Background(), fmt.Sprintf("-fused=%v", fused), "-json", "-c", "50", "-i", "1ms", "-W", "1s", "-s", "100", addr)
	is.Equal(code, 0)
	types := map[string]int{}
	var sum struct {
		Type        string  `json:"type"`
		Transmitted uint64  `json:"transmitted"`
		Lost        uint64  `json:"lost"`
		LossPercent float64 `json:"loss_percent"`
		RTT         *struct {
			P99 float64 `json:"p99_ms"`
		} `json:"rtt"`
	}
	for line := range strings.Lines(out) {
		var obj map[string]any
		is.NoErr(json.Unmarshal([]byte(line), &obj)) // every line is one JSON object
		types[obj["type"].(string)]++
		if obj["type"] == "reply" {
			is.Equal(obj["bytes"], 100.0) // padded by -s
		}
		if obj["type"] == "summary" {
			is.NoErr(json.Unmarshal([]byte(line), &sum))
		}
	}
	var drops uint64
	for _, d := range ping.Drops(1, 0.3, 50) {
		if d {
			drops++
		}
	}
	is.Equal(sum.Transmitted, uint64(50))
	is.Equal(sum.Lost, drops)                     // exactly pingd's seeded draws
	is.Equal(types["timeout"], int(drops))        // one timeout object per drop
	is.Equal(types["reply"], int(50-drops))       // one reply object per answer
	is.Equal(types["summary"], 1)                 // and a final summary
	is.True(sum.RTT != nil && sum.RTT.P99 > 0)    // with percentiles
	is.Equal(sum.LossPercent, float64(drops)*2.0) // of 50
}

func TestCtrlCPrintsTheSummary(t *testing.T) {
	is := is.New(t)
	addr, stop := startPingd(t, ping.ServerConfig{})
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond) // Ctrl-C after 300 ms
	defer cancel()
	code, out, _ := runPing(ctx, "-c", "0", "-i", "50ms", "-q", addr)
	is.Equal(code, 0)                                                           // interrupted after replies: success
	is.True(!strings.Contains(out, "reply from"))                               // -q
	is.True(regexp.MustCompile(`\n[4-7] packets transmitted`).MatchString(out)) // about 300/50 sent
	is.True(strings.Contains(out, "rtt min/avg/max/mdev = "))
}

func TestNoReplyExitsOne(t *testing.T) {
	is := is.New(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // bound, so no ICMP error, but never answers
	is.NoErr(err)
	defer pc.Close()
	code, out, _ := runPing(context.Background(), "-c", "2", "-i", "10ms", "-W", "50ms", pc.LocalAddr().String())
	is.Equal(code, 1)
	is.True(strings.Contains(out, "2 packets transmitted, 0 received, +0 duplicates, 100% packet loss"))
}

func TestRefusedPortGivesAClearMessage(t *testing.T) {
	is := is.New(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	is.NoErr(err)
	addr := pc.LocalAddr().String()
	pc.Close()
	code, _, errOut := runPing(context.Background(), "-c", "3", "-i", "20ms", addr)
	is.Equal(code, 1)
	is.Equal(errOut, "ping: "+addr+": connection refused: nothing listens on that UDP port (ICMP port unreachable)\n")
}

func TestUnresolvableHost(t *testing.T) {
	is := is.New(t)
	code, _, errOut := runPing(context.Background(), "-c", "1", "no-such-host.invalid")
	is.Equal(code, 1)
	is.True(strings.HasPrefix(errOut, `ping: cannot resolve "no-such-host.invalid": `))
}

func TestUsageErrorsExitTwo(t *testing.T) {
	is := is.New(t)
	for _, args := range [][]string{
		{}, {"a", "b"}, {"-c", "-1", "h"}, {"-i", "0s", "h"}, {"-W", "-1s", "h"}, {"-s", "70000", "h"},
		{"h:0"}, {"h:99999"}, {"h:port"}, {":12000"}, {"-nosuchflag", "h"},
	} {
		code, _, errOut := runPing(context.Background(), args...)
		is.Equal(code, 2)                                 // usage error
		is.True(strings.Contains(errOut, "usage: ping ")) // with the usage
	}
	code, _, _ := runPing(context.Background(), "-h")
	is.Equal(code, 0)
}

func TestFlagsAfterTheHost(t *testing.T) {
	is := is.New(t)
	addr, stop := startPingd(t, ping.ServerConfig{})
	defer stop()
	code, out, _ := runPing(context.Background(), addr, "-c", "2", "-i", "10ms", "-q") // like Linux ping
	is.Equal(code, 0)
	is.True(strings.Contains(out, "2 packets transmitted, 2 received"))
	is.True(!strings.Contains(out, "reply from")) // -q took effect
}

func TestSplitTarget(t *testing.T) {
	is := is.New(t)
	for in, want := range map[string]string{
		"localhost": "localhost 12000", "127.0.0.1:7": "127.0.0.1 7", "::1": "::1 12000", "[::1]:9": "::1 9",
	} {
		h, p, err := splitTarget(in)
		is.NoErr(err)
		is.Equal(h+" "+p, want)
	}
}
