package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"netstages/actors"
	"netstages/actors/bus"
	"netstages/actors/status"
	"netstages/cmd/internal/cli"
	"netstages/protocols/proxy"
	"netstages/protocols/proxy/cache"
	"netstages/transport"
)

// Ready is what Run reports once it listens (tests use it).
type Ready struct {
	Addr, StatusAddr string
}

// Run is the proxy's whole life; ready, if not nil, receives the addresses.
func Run(args []string, stdout, stderr io.Writer, ready chan<- Ready) int {
	cmd := cli.New("proxy", "[-addr 127.0.0.1:8888] [-cache-size 64MiB] [-max-object-size 8MiB] [-allow 127.0.0.0/8,::1/128]\n"+
		"       [-connect-ports 443] [-upstream-timeout 30s] [-access-log -|PATH|off] [-log-format common|combined|json]\n"+
		"       [-read-header-timeout D] [-idle-timeout D] [-write-timeout D]\n"+
		"       [-status-addr ADDR] [-max-conns N] [-grace D] [-v]",
		"HTTP forward proxy with an RFC 9111 shared cache (try: curl -x http://127.0.0.1:8888 http://example.org/).", stderr)
	addr := cmd.Flags.String("addr", "127.0.0.1:8888", "listen address")
	cacheSize := cmd.Flags.String("cache-size", "64MiB", "memory for cached responses (LRU by bytes); 0 turns the cache off")
	maxObject := cmd.Flags.String("max-object-size", "8MiB", "largest response body stored; larger ones are streamed through")
	allow := cmd.Flags.String("allow", proxy.DefaultAllow, "client networks served (CIDR list); others get 403")
	connectPorts := cmd.Flags.String("connect-ports", "443", "ports CONNECT may reach (comma-separated)")
	upstreamTimeout := cmd.Flags.Duration("upstream-timeout", proxy.DefaultUpstreamTimeout, "time to connect to an origin and for each wait on its response; then 504")
	headerTimeout := cmd.Flags.Duration("read-header-timeout", proxy.DefaultReadHeaderTimeout, "time a client has to send a request head once it starts; then 408 and close")
	idleTimeout := cmd.Flags.Duration("idle-timeout", proxy.DefaultIdleTimeout, "how long a client connection may wait for its next request (and for each read of a request body)")
	writeTimeout := cmd.Flags.Duration("write-timeout", proxy.DefaultWriteTimeout, "a client that reads nothing for this long (per write, per 256 KiB relayed) is cut off")
	accessLog := cmd.Flags.String("access-log", "-", "where access-log lines go: - (stdout), a file path, or off")
	logFormat := cmd.Flags.String("log-format", "common", "access-log format: common, combined or json")
	statusAddr := cmd.Flags.String("status-addr", "", "if set, serve /metrics (Prometheus) and /debug/stages (live stage page; ?format=json) on this address")
	maxConns := cmd.Flags.Int("max-conns", 10000, "most simultaneous client connections; more get 503 and are closed (0: no limit)")
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
	cacheBytes, err := parseSize(*cacheSize)
	if err != nil {
		return cmd.Usagef("-cache-size: %v", err)
	}
	objectBytes, err := parseSize(*maxObject)
	if err != nil || objectBytes == 0 {
		return cmd.Usagef("-max-object-size: must be a positive size like 8MiB")
	}
	allowed, err := proxy.ParseAllow(*allow)
	if err != nil {
		return cmd.Usagef("-allow: %v", err)
	}
	ports, err := proxy.ParsePorts(*connectPorts)
	if err != nil {
		return cmd.Usagef("-connect-ports: %v", err)
	}
	format, err := bus.ParseLogFormat(*logFormat)
	if err != nil {
		return cmd.Usagef("-log-format: %v", err)
	}
	switch {
	case *maxConns < 0:
		return cmd.Usagef("-max-conns must be 0 (no limit) or more, not %d", *maxConns)
	case *grace < 0:
		return cmd.Usagef("-grace must be 0 or more, not %v", *grace)
	}
	for name, d := range map[string]time.Duration{"-upstream-timeout": *upstreamTimeout,
		"-read-header-timeout": *headerTimeout, "-idle-timeout": *idleTimeout, "-write-timeout": *writeTimeout} {
		if d <= 0 {
			return cmd.Usagef("%s must be positive, not %v", name, d)
		}
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
	cfg := proxy.Config{
		Network: &transport.System{}, Permit: allowed.Permits, ConnectPorts: ports,
		UpstreamTimeout: *upstreamTimeout, Stats: &proxy.Stats{},
		ReadHeaderTimeout: *headerTimeout, IdleTimeout: *idleTimeout, WriteTimeout: *writeTimeout,
	}
	if cacheBytes > 0 {
		cfg.Cache = cache.New(cache.Config{MaxBytes: cacheBytes, MaxObject: objectBytes})
	}
	if logOut != nil || *busFlags.URL != bus.BackendMem {
		cfg.Bus = events
	}
	cfg = cfg.WithDefaults()
	defer cfg.Pool.Close()
	meter := actors.NewMeter()
	srv := &actors.Server{
		Name: "proxy", Handle: proxy.Handler(cfg, meter), MaxConns: *maxConns, Grace: *grace, Log: log, Bus: events,
		Refuse: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n")
		},
	}
	reg := prometheus.NewRegistry()
	if *statusAddr != "" {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
			proxy.NewCollector(cfg, srv.Active), status.NewStageCollector("proxy", meter))
	}

	ln, status, err := cli.Listen(*addr, *statusAddr)
	if err != nil {
		return cmd.Failf("%v", err)
	}
	fmt.Fprintf(stdout, "proxy: listening on %s (try: curl -x http://%s http://example.org/)\n", ln.Addr(), ln.Addr())
	r := Ready{Addr: ln.Addr().String()}
	if status != nil {
		r.StatusAddr = status.Addr().String()
		fmt.Fprintf(stdout, "proxy: metrics on http://%s/metrics, stages on http://%s/debug/stages\n", status.Addr(), status.Addr())
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
	// Accept loop: Shutdown stops accepting and half-closes every client
	// connection's read side, so each pipeline answers what it has read
	// (relaying bodies in flight) and ends; after -grace the rest are
	// closed. Serve returns when all are gone.
	g.Add(serve, shutdown)
	// Status listener: /metrics and /debug/stages on net/http; closed after
	// the proxy has drained, so the last counts can be scraped.
	if status != nil {
		g.Add(cli.HTTPActor(status, proxy.StatusHandler(reg, meter), served))
	}
	// Event bus: stopped only after the proxy has drained, so every request
	// event is published; closing it ends the access log.
	g.Add(cli.BusActor(ctx, events, served))
	// Access log: a line per request event; ends when the bus closes.
	if access != nil {
		g.Add(access.Run, func(error) {})
	}

	err = g.Run()
	st := cfg.Stats
	fmt.Fprintf(stderr, "proxy: stopped; %d requests (%d hits, %d misses, %d revalidated), %d upstream errors, %d events dropped\n",
		st.Requests.Load(), st.Hits.Load(), st.Misses.Load(), st.Revalidated.Load(), st.UpstreamErrors.Load(), events.Stats().Dropped)
	if err != nil && !errors.As(err, &run.SignalError{}) {
		return cmd.Failf("%v", err)
	}
	return cli.ExitOK
}

// parseSize reads a byte count: a number with an optional unit B, KiB,
// MiB, GiB (or K, M, G, KB, MB, GB, all powers of 1024).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') {
		i--
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size like 64MiB", s)
	}
	var shift uint
	switch strings.ToLower(s[i:]) {
	case "", "b":
	case "k", "kb", "kib":
		shift = 10
	case "m", "mb", "mib":
		shift = 20
	case "g", "gb", "gib":
		shift = 30
	default:
		return 0, fmt.Errorf("%q: unknown unit %q (use KiB, MiB or GiB)", s, s[i:])
	}
	if n > (1<<62)>>shift {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n << shift, nil
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
