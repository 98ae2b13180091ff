package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/cmd/internal/clitest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFlags(t *testing.T) {
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"-h"}, 0, "usage: echod"},
		{[]string{"-bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"-addr", "nocolon"}, 2, `-addr: address "nocolon" is not HOST:PORT`},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
		{[]string{"-max-line", "1"}, 2, "must be positive"},
		{[]string{"-version"}, 0, "echod "},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			is := is.New(t)
			var stdout, stderr bytes.Buffer
			code := Run(c.args, &stdout, &stderr, nil)
			is.Equal(code, c.code)                            // exit code
			is.True(strings.Contains(stderr.String(), c.err)) // message says what is wrong
		})
	}
}

// TestWithNetcat runs the real binary and talks to it with nc, as a user
// would: an echo, a client killed mid-line, then SIGTERM.
func TestAddressInUseIsAClearFailure(t *testing.T) {
	is := is.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	defer ln.Close()
	var stdout, stderr bytes.Buffer
	is.Equal(Run([]string{"-addr", ln.Addr().String()}, &stdout, &stderr, nil), 1) // exit 1
	is.True(strings.Contains(stderr.String(), "address already in use"))           // says why
}

func TestWithNetcat(t *testing.T) {
	is := is.New(t)
	nc, err := exec.LookPath("nc")
	is.NoErr(err)                // netcat-openbsd is installed by `make deps`
	bin := clitest.Build(t, ".") // the real echod

	srv := exec.Command(bin, "-addr", "127.0.0.1:0", "-v")
	stdout, _ := srv.StdoutPipe()
	var logs lockedBuffer
	srv.Stderr = &logs
	is.NoErr(srv.Start())
	defer srv.Process.Kill()
	out := bufio.NewReader(stdout)
	banner, err := out.ReadString('\n')
	is.NoErr(err)
	m := regexp.MustCompile(`nc (\S+) (\d+)`).FindStringSubmatch(banner)
	is.True(m != nil) // banner says how to connect
	host, port := m[1], m[2]

	talk := exec.Command(nc, "-N", host, port) // -N: half-close after stdin ends
	talk.Stdin = strings.NewReader("hello, netstages\nsecond line\n")
	reply, err := talk.Output()
	is.NoErr(err)
	is.Equal(string(reply), "hello, netstages\nsecond line\n") // echoed by the real binary

	killed := exec.Command(nc, host, port)
	stdin, _ := killed.StdinPipe()
	is.NoErr(killed.Start())
	io.WriteString(stdin, "half a li")
	time.Sleep(200 * time.Millisecond)
	killed.Process.Signal(syscall.SIGKILL) // killed mid-line
	killed.Wait()
	waitForLog(t, &logs, "active=0 opened=2")

	is.NoErr(srv.Process.Signal(syscall.SIGTERM))
	rest, _ := io.ReadAll(out)
	is.NoErr(srv.Wait())                                                                         // exit 0 on SIGTERM
	is.True(strings.Contains(string(rest), "2 connections served, 0 refused, 0 events dropped")) // summary
}

func waitForLog(t *testing.T, logs *lockedBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in logs:\n%s", want, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
