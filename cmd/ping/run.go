package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/oklog/run"

	"netstages/actors"
	"netstages/actors/bus"
	"netstages/cmd/internal/cli"
	"netstages/protocols/ping"
	"netstages/transport"
)

// defaultPort is the textbook UDP pinger's port.
const defaultPort = "12000"

// Run is ping's whole life. ctx ending acts like Ctrl-C (tests use it).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := cli.New("ping", "[-c 10] [-i 1s] [-W 1s] [-s 0] [-json] [-q] [-heartbeat] [-fused] HOST[:PORT]",
		"Sends UDP pings ('Ping <seq> <time>') to HOST (port 12000 by default) and reports\n"+
			"each reply and the RTT statistics. Exit status: 0 if any reply arrived, 1 if none, 2 on usage errors.", stderr)
	count := cmd.Flags.Int("c", 10, "how many pings to send; 0 sends until Ctrl-C")
	interval := cmd.Flags.Duration("i", time.Second, "time between sends, kept whatever the replies do")
	timeout := cmd.Flags.Duration("W", time.Second, "how long to wait for each reply; later replies count as late")
	size := cmd.Flags.Int("s", 0, "pad each request with 'x's to this many bytes")
	asJSON := cmd.Flags.Bool("json", false, "print one JSON object per packet and a summary object")
	quiet := cmd.Flags.Bool("q", false, "quiet: print only the summary")
	heartbeat := cmd.Flags.Bool("heartbeat", false, "mark the pings as heartbeats for pingd -heartbeat-timeout")
	fused := cmd.Flags.Bool("fused", true, "run the reply chain's parser, handler and writer in the reader's goroutine;\n-fused=false gives each stage its own goroutine (same graph)")
	busFlags := cmd.BusFlags() // -bus mem|nats://HOST:PORT, -instance (issue 10)
	if code, done := cmd.Parse(args); done {
		return code
	}
	target0 := cmd.Flags.Arg(0)
	if cmd.Flags.NArg() > 1 { // flags after the host, as Linux ping allows: ping HOST -c 3
		if code, done := cmd.Parse(cmd.Flags.Args()[1:]); done {
			return code
		}
		if cmd.Flags.NArg() > 0 {
			return cmd.Usagef("want one HOST[:PORT], got also %q", cmd.Flags.Arg(0))
		}
	} else if cmd.Flags.NArg() == 0 {
		return cmd.Usagef("want one HOST[:PORT]")
	}
	if err := busFlags.Check(); err != nil {
		return cmd.Usagef("%v", err)
	}
	host, port, err := splitTarget(target0)
	if err != nil {
		return cmd.Usagef("%v", err)
	}
	cfg := ping.ClientConfig{Count: *count, Interval: *interval, Timeout: *timeout, Size: *size, Heartbeat: *heartbeat, Fused: *fused}
	if *interval <= 0 || *timeout <= 0 {
		return cmd.Usagef("-i and -W must be positive")
	}
	if err := cfg.Validate(); err != nil {
		return cmd.Usagef("%v", err)
	}

	ip, err := resolve(ctx, host)
	if err != nil {
		return cmd.Failf("cannot resolve %q: %v", host, err)
	}
	target := net.JoinHostPort(ip.String(), port)
	conn, err := (&transport.System{}).DialContext(ctx, "udp", target)
	if err != nil {
		return cmd.Failf("%v", err)
	}
	// Event bus (-bus nats://): the packet events go to the fleet collector.
	var events *bus.Bus
	if *busFlags.URL != bus.BackendMem {
		if events, err = busFlags.Open(cmd.Logger()); err != nil {
			conn.Close()
			return cmd.Failf("%v", err)
		}
		cfg.Bus = events
		busDone := make(chan error, 1)
		go func() { busDone <- events.Run(context.Background()) }()
		defer func() { events.Close(); <-busDone }() // after the client: every event forwarded
	}
	var printer ping.Printer
	if *asJSON {
		printer = ping.JSONPrinter(stdout, *quiet)
	} else {
		printer = ping.TextPrinter(stdout, *quiet)
		fmt.Fprintf(stdout, "PING %s (%s): %d bytes\n", net.JoinHostPort(host, port), target,
			max(*size, ping.RequestLen(1, *heartbeat)))
	}
	client, err := ping.NewClient(ping.Connected(conn), cfg, printer, actors.NewMeter())
	if err != nil {
		conn.Close()
		return cmd.Failf("%v", err)
	}

	var g run.Group
	// Signals: SIGINT (Ctrl-C) or SIGTERM, or ctx ending, stops the client,
	// which still prints the summary.
	g.Add(run.SignalHandler(ctx, os.Interrupt, syscall.SIGTERM))
	// Client: its pipeline ends by itself after the last probe is settled;
	// interrupted, it stops sending and closes the socket.
	g.Add(func() error { return client.Run(context.Background()) }, func(error) { client.Stop() })
	err = g.Run()
	if errors.As(err, &run.SignalError{}) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}

	sum := client.Summary()
	if *asJSON {
		ping.WriteSummaryJSON(stdout, sum)
	} else {
		fmt.Fprintln(stdout)
		ping.WriteSummary(stdout, sum)
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return cmd.Failf("%s: connection refused: nothing listens on that UDP port (ICMP port unreachable)", target)
	case err != nil:
		return cmd.Failf("%v", err)
	case sum.Received+sum.Late == 0:
		return cli.ExitFail
	}
	return cli.ExitOK
}

// splitTarget splits HOST[:PORT]; a bare IPv6 address is a host.
func splitTarget(s string) (host, port string, err error) {
	host, port = s, defaultPort
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if _, perr := netip.ParseAddr(s); perr != nil && len(s) > 0 && s[0] == '[' {
		return "", "", fmt.Errorf("bad target %q: %v", s, err)
	}
	if host == "" {
		return "", "", fmt.Errorf("bad target %q: no host", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("bad port %q in %q: want 1-65535", port, s)
	}
	return host, port, nil
}

// resolve looks host up, preferring IPv4 as the textbook server listens on
// IPv4.
func resolve(ctx context.Context, host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return netip.Addr{}, errors.New("no such host")
		}
		return netip.Addr{}, err
	}
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			return ip.Unmap(), nil
		}
	}
	if len(ips) == 0 {
		return netip.Addr{}, errors.New("no addresses")
	}
	return ips[0], nil
}
