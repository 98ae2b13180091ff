package httpd_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	nethttp "net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"netstages/actors"
	"netstages/protocols/httpd"
	"netstages/transport"
)

// benchRoot holds the files of the benchmarks: 1 KiB and 64 KiB.
func benchRoot(b *testing.B) string {
	dir := b.TempDir()
	for name, size := range map[string]int{"1k": 1 << 10, "64k": 64 << 10} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// servers are the contenders, each started on 127.0.0.1 by the benchmark.
func benchServers(b *testing.B, root string) map[string]func() (string, func()) {
	staged := func(fused bool) func() (string, func()) {
		return func() (string, func()) {
			files, err := httpd.New(httpd.Config{Root: root, Fused: fused}, nil)
			if err != nil {
				b.Fatal(err)
			}
			ln, err := (&transport.System{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := &actors.Server{Name: "httpd", Handle: files.Handler()}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			return ln.Addr().String(), func() { srv.Shutdown(); <-done; files.Close() }
		}
	}
	return map[string]func() (string, func()){
		"staged": staged(false),
		"fused":  staged(true),
		"nethttp": func() (string, func()) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			hs := &nethttp.Server{Handler: nethttp.FileServer(nethttp.Dir(root))}
			go hs.Serve(ln)
			return ln.Addr().String(), func() { hs.Close() }
		},
	}
}

// BenchmarkGet measures keep-alive GETs over loopback TCP from parallel
// raw clients (one connection each, GOMAXPROCS×4 of them), against the
// staged server (own goroutines and fused) and net/http.FileServer in the
// same run. Compare with benchstat; run with -count ≥ 5.
func BenchmarkGet(b *testing.B) {
	root := benchRoot(b)
	servers := benchServers(b, root)
	for _, file := range []string{"1k", "64k"} {
		for _, name := range []string{"nethttp", "staged", "fused"} {
			b.Run(file+"/"+name, func(b *testing.B) {
				addr, stop := servers[name]()
				defer stop()
				size, _ := strconv.Atoi(strings.TrimSuffix(file, "k"))
				b.SetBytes(int64(size) << 10)
				b.SetParallelism(4)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					c, err := net.Dial("tcp", addr)
					if err != nil {
						b.Error(err)
						return
					}
					defer c.Close()
					br := bufio.NewReaderSize(c, 64<<10)
					req := []byte("GET /" + file + " HTTP/1.1\r\nHost: bench\r\n\r\n")
					for pb.Next() {
						if _, err := c.Write(req); err != nil {
							b.Error(err)
							return
						}
						if err := readResponse(br); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// readResponse reads one response head and its Content-Length body.
func readResponse(br *bufio.Reader) error {
	length := -1
	for first := true; ; first = false {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if first {
			if !strings.HasPrefix(string(line), "HTTP/1.1 200") {
				return fmt.Errorf("status line %q", line)
			}
			continue
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := strings.CutPrefix(string(line), "Content-Length: "); ok {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if length < 0 {
		return fmt.Errorf("no Content-Length")
	}
	_, err := br.Discard(length)
	return err
}
