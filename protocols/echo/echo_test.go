package echo_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/actors"
	"netstages/protocols/echo"
	"netstages/transport"
	"netstages/transport/mem"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(holdEnv); addr != "" { // child process of BenchmarkIdleMemory
		os.Exit(holdConns(addr))
	}
	goleak.VerifyTestMain(m)
}

// startServer serves echo on network at addr and returns the server, its
// address, and a stop function that shuts it down and waits.
func startServer(t *testing.T, network transport.Network, addr string, cfg echo.Config) (*actors.Server, *actors.Meter, string, func()) {
	t.Helper()
	ln, err := network.Listen(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	meter := actors.NewMeter()
	srv := &actors.Server{Name: "echod", Handle: echo.Handler(cfg, meter)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return srv, meter, ln.Addr().String(), func() {
		srv.Shutdown()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
}

// modes are the two ways to run the same stages.
var modes = []struct {
	name string
	cfg  echo.Config
}{
	{"goroutine-per-stage", echo.Config{}},
	{"fused", echo.Config{Fused: true}},
}

func TestEchoOverMemUnderSynctest(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testEchoOverMem(t, m.cfg) })
	}
}

func testEchoOverMem(t *testing.T, cfg echo.Config) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n := mem.NewNetwork(0)
		_, meter, addr, stop := startServer(t, n, "echo:7", cfg)
		defer stop()
		c, err := n.DialContext(context.Background(), "tcp", addr)
		is.NoErr(err) // dial
		defer c.Close()
		// A pipelined burst: every line comes back, in order, endings kept.
		_, err = io.WriteString(c, "one\ntwo\r\nthree\n")
		is.NoErr(err)
		r := bufio.NewReader(c)
		for _, want := range []string{"one\n", "two\r\n", "three\n"} {
			got, err := r.ReadString('\n')
			is.NoErr(err)
			is.Equal(got, want)
		}
		// A last line without an ending is echoed after half-close.
		io.WriteString(c, "bye")
		c.(transport.CloseWriter).CloseWrite()
		rest, err := io.ReadAll(r)
		is.NoErr(err)
		is.Equal(string(rest), "bye")
		synctest.Wait()
		snap := meter.Snapshot()
		is.Equal(snap.Stages[3].Name, "handler")
		is.Equal(snap.Finished, uint64(1)) // the pipeline ended with the conn
	})
}

func TestTooLongLineGetsErrorAndClose(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cfg := m.cfg
			cfg.MaxLine = 16
			testTooLong(t, cfg)
		})
	}
}

func testTooLong(t *testing.T, cfg echo.Config) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		n := mem.NewNetwork(0)
		_, _, addr, stop := startServer(t, n, "echo:7", cfg)
		defer stop()
		c, _ := n.DialContext(context.Background(), "tcp", addr)
		defer c.Close()
		io.WriteString(c, "short\n"+strings.Repeat("x", 40)+"\nnever\n")
		got, err := io.ReadAll(c)
		is.NoErr(err)
		is.Equal(string(got), "short\nerror: line longer than 16 bytes\n") // earlier lines answered, then a clear error
	})
}

func TestEchoOverTCPAndKillMidLineLeaksNothing(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testKillMidLine(t, m.cfg) })
	}
}

func testKillMidLine(t *testing.T, cfg echo.Config) {
	is := is.New(t)
	srv, _, addr, stop := startServer(t, &transport.System{}, "127.0.0.1:0", cfg)
	defer stop()
	c, err := net.Dial("tcp", addr)
	is.NoErr(err) // dial
	fmt.Fprintf(c, "hello\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	is.NoErr(err)
	is.Equal(line, "hello\n")
	io.WriteString(c, "half a li") // killed mid-line
	c.(*net.TCPConn).SetLinger(0)  // RST, like a killed process
	c.Close()
	waitFor(t, func() bool { return srv.Active() == 0 })
}

func TestManyShortConnectionsLeaveGoroutinesWhereTheyStarted(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			conns := 10000
			if testing.Short() || m.cfg.Fused {
				conns = 2000 // the full 10,000 runs on the default mode; keep CI short
			}
			testManyShort(t, m.cfg, conns)
		})
	}
}

func testManyShort(t *testing.T, cfg echo.Config, conns int) {
	is := is.New(t)
	srv, _, addr, stop := startServer(t, &transport.System{}, "127.0.0.1:0", cfg)
	defer stop()
	before := runtime.NumGoroutine()
	buf := make([]byte, 3)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		is.NoErr(err) // dial
		_, err = io.WriteString(c, "hi\n")
		is.NoErr(err)
		_, err = io.ReadFull(c, buf)
		is.NoErr(err) // echoed
		if i%2 == 0 {
			c.(*net.TCPConn).SetLinger(0) // half of them reset, half close politely
		}
		c.Close()
	}
	waitFor(t, func() bool { return srv.Active() == 0 })
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
}

// waitFor polls cond for up to 10 s: connection teardown is asynchronous.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in 10s (goroutines: %d)", runtime.NumGoroutine())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestGraphIsTheFiveStages(t *testing.T) {
	is := is.New(t)
	g := echo.Graph(echo.Config{})
	var names []string
	for _, n := range g.Nodes {
		names = append(names, n.Name)
	}
	is.Equal(strings.Join(names, " → "), "reader → framer → parser → handler → writer")
	is.Equal(g.Edges[0].Type, "connio.Chunk")
}
