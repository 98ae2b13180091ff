package transport_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/transport"
)

const sendfileChildEnv = "NETSTAGES_SENDFILE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(sendfileChildEnv) != "" {
		os.Exit(sendfileChild(os.Getenv(sendfileChildEnv)))
	}
	goleak.VerifyTestMain(m)
}

func TestSystemReturnsRawConns(t *testing.T) {
	is := is.New(t)
	var n transport.Network = &transport.System{}
	ctx := context.Background()
	ln, err := n.Listen(ctx, "tcp", "127.0.0.1:0")
	is.NoErr(err) // listen
	defer ln.Close()
	_, ok := ln.(*net.TCPListener)
	is.True(ok) // raw listener
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := n.DialContext(ctx, "tcp", ln.Addr().String())
	is.NoErr(err) // dial
	defer c.Close()
	srv := <-accepted
	defer srv.Close()
	_, ok = srv.(*net.TCPConn)
	is.True(ok) // raw *net.TCPConn: io.ReaderFrom reaches sendfile
	_, ok = srv.(transport.CloseReader)
	is.True(ok) // graceful shutdown can shut the read side

	pc, err := n.ListenPacket(ctx, "udp", "127.0.0.1:0")
	is.NoErr(err)
	defer pc.Close()
	_, ok = pc.(*net.UDPConn)
	is.True(ok) // raw UDP socket
}

func TestSystemErrorsSayWhat(t *testing.T) {
	is := is.New(t)
	n := &transport.System{}
	_, err := n.Listen(context.Background(), "tcp", "not-an-address")
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "listen tcp") && strings.Contains(err.Error(), "not-an-address")) // says what failed
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	addr := ln.Addr().String()
	ln.Close()
	_, err = n.DialContext(context.Background(), "tcp", addr)
	is.True(err != nil)
	is.Equal(strings.Count(err.Error(), "dial tcp "+addr), 1) // says it once: "dial tcp ADDR: connect: connection refused"
}

// TestFileCopyUsesSendfile runs a child process under strace: it copies a
// 1 MiB file to a TCP connection from transport.System with io.Copy, and the
// trace must show sendfile(2) carrying the bytes.
func TestFileCopyUsesSendfile(t *testing.T) {
	is := is.New(t)
	strace, err := exec.LookPath("strace")
	is.NoErr(err) // strace is installed by `make deps`
	dir := t.TempDir()
	file := filepath.Join(dir, "payload")
	is.NoErr(os.WriteFile(file, bytes.Repeat([]byte("netstages"), 1<<17), 0o644)) // ~1.1 MiB
	trace := filepath.Join(dir, "trace")
	cmd := exec.Command(strace, "-f", "-e", "trace=sendfile", "-o", trace, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sendfileChildEnv+"="+file)
	out, err := cmd.CombinedOutput()
	is.NoErr(err) // child ran under strace
	_ = out
	data, err := os.ReadFile(trace)
	is.NoErr(err)
	var sent int
	for _, m := range regexp.MustCompile(`sendfile\(\d+, \d+, \S+, \d+\) = (\d+)`).FindAllSubmatch(data, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		sent += n
	}
	is.Equal(sent, 9<<17) // every byte went through sendfile(2)
}

// sendfileChild serves file to one TCP client and reads it back.
func sendfileChild(file string) int {
	n := &transport.System{}
	ctx := context.Background()
	ln, err := n.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 1
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		f, err := os.Open(file)
		if err != nil {
			return
		}
		defer f.Close()
		io.Copy(c, f) // *net.TCPConn.ReadFrom(*os.File) → sendfile
	}()
	c, err := n.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return 1
	}
	defer c.Close()
	if _, err := io.Copy(io.Discard, c); err != nil {
		return 1
	}
	return 0
}
