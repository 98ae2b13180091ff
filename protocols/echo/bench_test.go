package echo_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"netstages/actors"
	"netstages/protocols/echo"
	"netstages/transport"
)

// plainEcho is the baseline: the goroutine-per-connection echo server most
// Go programmers would write, with a 4 KiB bufio.Reader and direct writes.
func plainEcho(ctx context.Context, conn net.Conn) error {
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			if _, werr := conn.Write(line); werr != nil {
				return werr
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			return nil
		}
	}
}

// servers are the two contenders, served by the same actors.Server so that
// only the per-connection work differs.
func servers() []struct {
	name   string
	handle actors.ConnHandler
} {
	return []struct {
		name   string
		handle actors.ConnHandler
	}{
		{"plain", plainEcho},
		{"staged", echo.Handler(echo.Config{}, actors.NewMeter())},
		{"fused", echo.Handler(echo.Config{Fused: true}, actors.NewMeter())},
	}
}

func serveTCP(b *testing.B, h actors.ConnHandler) (string, func()) {
	ln, err := (&transport.System{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &actors.Server{Name: "bench", Handle: h}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return ln.Addr().String(), func() { srv.Shutdown(); <-done }
}

// BenchmarkRoundTrip measures echo round trips per second over TCP
// loopback: each of `conns` clients sends a 32-byte line and waits for it
// before sending the next.
func BenchmarkRoundTrip(b *testing.B) {
	for _, conns := range []int{1, 16, 64} {
		for _, s := range servers() {
			b.Run(fmt.Sprintf("conns=%d/%s", conns, s.name), func(b *testing.B) {
				addr, stop := serveTCP(b, s.handle)
				defer stop()
				clients := dialAll(b, addr, conns)
				line := []byte("0123456789abcdef0123456789abcd\r\n")
				b.ResetTimer()
				start, cpu0 := time.Now(), cpuTime()
				var wg sync.WaitGroup
				for i, c := range clients {
					n := b.N / conns
					if i < b.N%conns {
						n++
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						pingPong(b, c, line, n)
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "roundtrips/s")
				// CPU per round trip (client and server together, same process):
				// unlike wall time, it barely moves when other processes load the machine.
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/roundtrip")
				b.StopTimer()
				for _, c := range clients {
					c.Close()
				}
			})
		}
	}
}

func dialAll(b *testing.B, addr string, n int) []net.Conn {
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
	}
	return conns
}

func pingPong(b *testing.B, c net.Conn, line []byte, n int) {
	buf := make([]byte, len(line))
	for range n {
		if _, err := c.Write(line); err != nil {
			b.Error(err)
			return
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Error(err)
			return
		}
	}
}

// cpuTime is the user+system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// holdEnv names the address a child process dials to hold connections.
const holdEnv = "NETSTAGES_ECHO_HOLD_ADDR"

// BenchmarkIdleMemory measures the server's memory per idle connection:
// a child process opens 10,000 connections (one process cannot hold both
// ends: the file limit here is 20,000), each echoes one line and then sits
// idle. Reported: the growth of heap and stack in use, after a GC, per
// connection. (RSS is not reported: it does not shrink between
// sub-benchmarks in one process, so only the first would be right.)
func BenchmarkIdleMemory(b *testing.B) {
	const conns = 10000
	for _, s := range servers() {
		b.Run(s.name, func(b *testing.B) {
			for range b.N {
				b.ReportMetric(idleMemory(b, s.handle, conns), "heap+stack-B/conn")
			}
		})
	}
}

func idleMemory(b *testing.B, h actors.ConnHandler, conns int) (heapPerConn float64) {
	addr, stop := serveTCP(b, h)
	defer stop()
	heap0 := memNow()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), holdEnv+"="+addr, "NETSTAGES_ECHO_HOLD_N="+strconv.Itoa(conns))
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer child.Wait()
	defer stdin.Close()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		b.Fatalf("holder: %q %v", line, err)
	}
	heap1 := memNow()
	if os.Getenv("NETSTAGES_MEM_DETAIL") != "" {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		b.Logf("heap=%d stack=%d goroutines=%d", m.HeapInuse, m.StackInuse, runtime.NumGoroutine())
	}
	return (float64(heap1) - float64(heap0)) / float64(conns)
}

// memNow returns heap+stack in use after a GC.
func memNow() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// holdConns runs in the child process: open the connections, echo one
// line on each, say "ready", and hold them until stdin closes.
func holdConns(addr string) int {
	n, _ := strconv.Atoi(os.Getenv("NETSTAGES_ECHO_HOLD_N"))
	conns := make([]net.Conn, 0, n)
	buf := make([]byte, 3)
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "hold:", err)
			return 1
		}
		if _, err := io.WriteString(c, "hi\n"); err != nil {
			return 1
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			return 1
		}
		conns = append(conns, c)
	}
	time.Sleep(500 * time.Millisecond) // let the server's stages settle into their idle reads
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	return 0
}
