package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"netstages/actors"
	"netstages/actors/bus"
	"netstages/cmd/internal/cli"
	"netstages/protocols/httpd"
)

// Ready is what Run reports once it listens (tests use it).
type Ready struct {
	Addr, StatusAddr string
}

// Run is httpd's whole life; ready, if not nil, receives the addresses.
func Run(args []string, stdout, stderr io.Writer, ready chan<- Ready) int {
	cmd := cli.New("httpd", "[-addr 127.0.0.1:8080] [-root .] [-access-log -|PATH|off] [-log-format common|combined|json]\n"+
		"       [-max-conns N] [-read-header-timeout D] [-idle-timeout D] [-write-timeout D] [-status-addr ADDR] [-show-dotfiles]\n"+
		"       [-follow-symlinks] [-file-cache BYTES] [-fused] [-grace D] [-v]",
		"Static file server: serves -root over HTTP/1.1 (GET, HEAD, ranges, conditionals, listings).", stderr)
	addr := cmd.Flags.String("addr", "127.0.0.1:8080", "listen address")
	root := cmd.Flags.String("root", ".", "directory to serve")
	accessLog := cmd.Flags.String("access-log", "-", "where access-log lines go: - (stdout), a file path, or off")
	logFormat := cmd.Flags.String("log-format", "common", "access-log format: common, combined or json")
	maxConns := cmd.Flags.Int("max-conns", 10000, "most simultaneous connections; more get 503 and are closed (0: no limit)")
	headerTimeout := cmd.Flags.Duration("read-header-timeout", httpd.DefaultReadHeaderTimeout, "time a client has to send a request once it starts; then 408 and close")
	writeTimeout := cmd.Flags.Duration("write-timeout", httpd.DefaultWriteTimeout, "a client that reads nothing for this long (per write, per MiB of a file) is cut off")
	idleTimeout := cmd.Flags.Duration("idle-timeout", httpd.DefaultIdleTimeout, "how long a keep-alive connection may wait for its next request")
	statusAddr := cmd.Flags.String("status-addr", "", "if set, serve /metrics (Prometheus) and /debug/stages (live stage page; ?format=json) on this address")
	showDot := cmd.Flags.Bool("show-dotfiles", false, "serve and list names beginning with '.'")
	follow := cmd.Flags.Bool("follow-symlinks", false, "follow symbolic links even when they lead outside -root")
	cacheBytes := cmd.Flags.Int64("file-cache", httpd.DefaultCacheBytes, "bytes of small files (≤ 16 KiB) kept in memory, revalidated by a stat per request (0: off)")
	fused := cmd.Flags.Bool("fused", true, "run the stages after the reader in the reader's goroutine: 2 goroutines per connection;\n-fused=false gives each stage its own goroutine (same graph; more memory per connection)")
	grace := cmd.Flags.Duration("grace", 5*time.Second, "on SIGINT/SIGTERM, how long in-flight responses may finish before connections close")
	busFlags := cmd.BusFlags() // -bus mem|nats://HOST:PORT, -instance (issue 10)
	if code, done := cmd.Parse(args); done {
		return code
	}
	if err := busFlags.Check(); err != nil {
		return cmd.Usagef("%v", err)
	}
	if err := cmd.CheckServerArgs([]cli.AddrFlag{{Name: "addr", Value: *addr},
		{Name: "status-addr", Value: *statusAddr, Optional: true}}); err != nil {
		return cmd.Usagef("%v", err)
	}
	format, err := bus.ParseLogFormat(*logFormat)
	if err != nil {
		return cmd.Usagef("-log-format: %v", err)
	}
	if err := checkLimits(*maxConns, *cacheBytes, *grace, map[string]time.Duration{
		"-read-header-timeout": *headerTimeout, "-idle-timeout": *idleTimeout, "-write-timeout": *writeTimeout,
	}); err != nil {
		return cmd.Usagef("%v", err)
	}
	if fi, err := os.Stat(*root); err != nil || !fi.IsDir() {
		return cmd.Usagef("-root %q is not a directory", *root)
	}
	log := cmd.Logger()

	logOut, closeLog, err := openLog(*accessLog, stdout)
	if err != nil {
		return cmd.Failf("-access-log: %v", err)
	}
	defer closeLog()
	events, err := busFlags.Open(log)
	if err != nil {
		return cmd.Failf("%v", err)
	}
	var access *bus.AccessLog
	if logOut != nil {
		if access, err = bus.NewAccessLog(events, logOut, format); err != nil {
			return cmd.Failf("%v", err)
		}
	}
	meter := actors.NewMeter()
	srv := &actors.Server{Name: "httpd", MaxConns: *maxConns, Grace: *grace, Log: log, Bus: events}
	cfg := httpd.Config{
		Root: *root, ShowDotfiles: *showDot, FollowSymlinks: *follow, Fused: *fused,
		ReadHeaderTimeout: *headerTimeout, IdleTimeout: *idleTimeout, WriteTimeout: *writeTimeout, Name: "httpd", CacheBytes: *cacheBytes,
	}
	if *cacheBytes == 0 {
		cfg.CacheBytes = -1 // off
	}
	if logOut != nil || *busFlags.URL != bus.BackendMem {
		cfg.Bus = events
	}
	reg := prometheus.NewRegistry()
	if *statusAddr != "" {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		if cfg.Metrics, err = httpd.NewMetrics(reg, meter, srv.Active); err != nil {
			return cmd.Failf("%v", err)
		}
	}
	files, err := httpd.New(cfg, meter)
	if err != nil {
		return cmd.Failf("%v", err)
	}
	defer files.Close()
	srv.Handle, srv.Refuse = files.Handler(), files.Refuse

	ln, status, err := cli.Listen(*addr, *statusAddr)
	if err != nil {
		return cmd.Failf("%v", err)
	}
	fmt.Fprintf(stdout, "httpd: serving %s on http://%s/\n", *root, ln.Addr())
	r := Ready{Addr: ln.Addr().String()}
	if status != nil {
		r.StatusAddr = status.Addr().String()
		fmt.Fprintf(stdout, "httpd: metrics on http://%s/metrics, stages on http://%s/debug/stages\n", status.Addr(), status.Addr())
	}
	if ready != nil {
		ready <- r
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serve, shutdown, served := cli.ServerActor(srv, ln)
	var g run.Group
	// Signals: SIGINT or SIGTERM ends the group; this actor stops first.
	g.Add(run.SignalHandler(ctx, os.Interrupt, syscall.SIGTERM))
	// Accept loop: Shutdown stops accepting and half-closes every
	// connection's read side, so each pipeline answers what it has read and
	// ends; after -grace the rest are closed. Serve returns when all are gone.
	g.Add(serve, shutdown)
	// Status listener: /metrics and /debug/stages on net/http; closed
	// after the file server has drained, so the last counts can be scraped.
	if status != nil {
		g.Add(cli.HTTPActor(status, httpd.StatusHandler(reg, meter), served))
	}
	// Event bus: stopped only after the server has drained, so every
	// request event is published; closing it ends the access log.
	g.Add(cli.BusActor(ctx, events, served))
	// Access log: writes a line per request event; ends when the bus closes.
	if access != nil {
		g.Add(access.Run, func(error) {})
	}

	err = g.Run()
	fmt.Fprintf(stderr, "httpd: stopped; %d connections refused, %d events dropped\n", srv.Refused(), events.Stats().Dropped)
	if err != nil && !errors.As(err, &run.SignalError{}) {
		return cmd.Failf("%v", err)
	}
	return cli.ExitOK
}

// openLog opens the access-log destination: nil for off.
func openLog(dest string, stdout io.Writer) (io.Writer, func(), error) {
	switch dest {
	case "off", "":
		return nil, func() {}, nil
	case "-":
		return stdout, func() {}, nil
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// checkLimits names the first bad limit flag and its rule: counts, sizes and
// -grace may be 0, the timeouts must be positive.
func checkLimits(maxConns int, cacheBytes int64, grace time.Duration, timeouts map[string]time.Duration) error {
	switch {
	case maxConns < 0:
		return fmt.Errorf("-max-conns must be 0 (no limit) or more, not %d", maxConns)
	case cacheBytes < 0:
		return fmt.Errorf("-file-cache must be 0 (off) or more, not %d", cacheBytes)
	case grace < 0:
		return fmt.Errorf("-grace must be 0 or more, not %v", grace)
	}
	for _, name := range []string{"-read-header-timeout", "-idle-timeout", "-write-timeout"} {
		if d := timeouts[name]; d <= 0 {
			return fmt.Errorf("%s must be positive, not %v", name, d)
		}
	}
	return nil
}
