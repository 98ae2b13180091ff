package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	nethttp "net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"netstages/actors"
	"netstages/cmd/internal/cli"
	"netstages/protocols/httpd"
	"netstages/sim"
	"netstages/sim/rdt"
	"netstages/transport"
)

// fetched is what one GET returned.
type fetched struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"` // the ones that must not depend on the network
	SHA256  string            `json:"sha256"`
	Bytes   int               `json:"bytes"`
	body    []byte
}

// comparableHeaders are the response fields that must be the same over any
// network (Date is not).
var comparableHeaders = []string{"Content-Length", "Content-Type", "Etag", "Last-Modified", "Accept-Ranges", "Server"}

// fetchTwice serves root with httpd (unchanged) on listenNet at addr and GETs
// path twice on one keep-alive connection with Go's net/http client dialing
// through dialNet.
func fetchTwice(ctx context.Context, listenNet, dialNet transport.Network, addr, root, path string) ([]fetched, error) {
	files, err := httpd.New(httpd.Config{Root: root}, nil)
	if err != nil {
		return nil, err
	}
	defer files.Close()
	ln, err := listenNet.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &actors.Server{Name: "httpd", Handle: files.Handler()}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() { srv.Shutdown(); <-served }()
	tr := &nethttp.Transport{DialContext: dialNet.DialContext, MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &nethttp.Client{Transport: tr}
	var out []fetched
	for range 2 {
		req, _ := nethttp.NewRequestWithContext(ctx, "GET", "http://"+addr+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			return out, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return out, err
		}
		sum := sha256.Sum256(body)
		f := fetched{Status: resp.StatusCode, Headers: map[string]string{}, SHA256: hex.EncodeToString(sum[:]), Bytes: len(body), body: body}
		for _, h := range comparableHeaders {
			f.Headers[h] = resp.Header.Get(h)
		}
		out = append(out, f)
	}
	return out, nil
}

// httpReport is what `netsim http` found.
type httpReport struct {
	Scenario   scenario       `json:"scenario"`
	OK         bool           `json:"ok"`
	Check      string         `json:"check"`
	Completion time.Duration  `json:"completion"`
	Goodput    float64        `json:"goodput_bps"`
	Responses  []fetched      `json:"responses"`
	Links      []sim.DirStats `json:"links"`
	Client     []rdt.Stats    `json:"client_conns"`
	Server     []rdt.Stats    `json:"server_conns"`
	Error      string         `json:"error,omitempty"`
	records    []sim.Record   // with sc.Keep
	start      time.Time      // the network's start, for pcap timestamps
}

// connRecorder remembers every conn it dials or accepts, for their stats.
type connRecorder struct {
	transport.Network
	mu    sync.Mutex
	conns []*rdt.Conn
}

func (d *connRecorder) note(c net.Conn) {
	if rc, ok := c.(*rdt.Conn); ok {
		d.mu.Lock()
		d.conns = append(d.conns, rc)
		d.mu.Unlock()
	}
}

// DialContext dials and remembers the conn.
func (d *connRecorder) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.Network.DialContext(ctx, network, addr)
	d.note(c)
	return c, err
}

// Listen listens; the listener remembers every conn it accepts.
func (d *connRecorder) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	ln, err := d.Network.Listen(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return recordingListener{Listener: ln, r: d}, nil
}

// recordingListener hands each accepted conn to its connRecorder.
type recordingListener struct {
	net.Listener
	r *connRecorder
}

// Accept accepts and remembers the conn.
func (l recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	l.r.note(c)
	return c, err
}

// httpOverSim serves a file of sc.Bytes seeded random bytes with httpd on
// host "server" and fetches it twice from host "client" over sim/rdt, and
// the same over transport/mem; the two must agree byte for byte.
func httpOverSim(ctx context.Context, sc scenario, dir string) httpReport {
	rep := httpReport{Scenario: sc}
	data := make([]byte, sc.Bytes)
	r := rand.New(rand.NewPCG(sc.Seed, 1))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(filepath.Join(dir, "file.bin"), data, 0o644); err != nil {
		rep.Error = err.Error()
		return rep
	}
	want := sha256.Sum256(data)
	nw := sim.New(sim.Config{Seed: sc.Seed, Settle: sc.Settle, Trace: sc.Keep, KeepPayloads: sc.Keep})
	rep.start = nw.Start()
	// The file dates from the network's start, so its Last-Modified and
	// ETag are the same in every run with the same clock (synctest's).
	if err := os.Chtimes(filepath.Join(dir, "file.bin"), rep.start, rep.start); err != nil {
		rep.Error = err.Error()
		return rep
	}
	defer nw.Close()
	link, err := nw.Connect("client", "server", sc.Faults, sc.Faults)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	cfg := rdt.Config{ARQ: sc.ARQ, Window: sc.Window, MSS: sc.MSS, MinRTO: sc.MinRTO, Settle: sc.Settle}
	client, err := rdt.New(nw.Host("client"), cfg)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	server, _ := rdt.New(nw.Host("server"), cfg)
	dialer, listener := &connRecorder{Network: client}, &connRecorder{Network: server}
	start := time.Now()
	rep.Responses, err = fetchTwice(ctx, listener, dialer, "server:80", dir, "/file.bin")
	rep.Completion = time.Since(start)
	if err != nil {
		rep.Error = err.Error()
	}
	endStacks(ctx, nw, linger, client, server)
	for _, c := range dialer.conns {
		rep.Client = append(rep.Client, c.Stats())
	}
	for _, c := range listener.conns {
		rep.Server = append(rep.Server, c.Stats())
	}
	rep.Links = []sim.DirStats{link.Stats("client"), link.Stats("server")}
	if sc.Keep {
		rep.records = append(link.Records("client"), link.Records("server")...)
	}
	// The same two GETs over transport/mem: the reference.
	memNet := memNetwork()
	ref, err := fetchTwice(ctx, memNet, memNet, "server:80", dir, "/file.bin")
	if err != nil && rep.Error == "" {
		rep.Error = "over mem: " + err.Error()
	}
	same := len(ref) == 2 && len(rep.Responses) == 2
	for i := 0; same && i < 2; i++ {
		a, b := rep.Responses[i], ref[i]
		same = a.Status == 200 && a.Status == b.Status && a.SHA256 == b.SHA256 && a.SHA256 == hex.EncodeToString(want[:]) &&
			fmt.Sprint(a.Headers) == fmt.Sprint(b.Headers)
	}
	rep.OK = rep.Error == "" && same
	if rep.OK { // a run that failed delivered nothing it can be credited for
		rep.Goodput = float64(2*sc.Bytes*8) / rep.Completion.Seconds()
	}
	rep.Check = fmt.Sprintf("2 GETs of a %d-byte file over sim/rdt %s: status, headers (but Date) and SHA-256 identical to the same GETs over transport/mem: %v",
		sc.Bytes, sc.ARQ, same)
	return rep
}

func runHTTP(args []string, stdout, stderr io.Writer) int {
	cmd := cli.New("netsim http", "[link flags] [-arq saw|gbn|sr|perfect] [-window N] [-bytes N] [-seed N] [-json] [-trace FILE.mmd] [-pcap FILE.pcap] [-scenario FILE.toml]",
		"Serves a file of -bytes random bytes with httpd (protocols/httpd, unchanged) on host\n\"server\" and fetches it twice with Go's net/http client from host \"client\" over a\nreliable stream (sim/rdt) across one simulated link with the faults given (both\nways); checks the responses are byte-identical to the same GETs over transport/mem.", stderr)
	fl := addStreamFlags(cmd.Flags, 1<<20, "size of the file served", "seed of every fault's PRNG and of the file's bytes")
	out := addOutputFlags(cmd.Flags)
	if code, done := cmd.Parse(args); done {
		return code
	}
	if cmd.Flags.NArg() > 0 {
		return cmd.Usagef("unexpected argument %q", cmd.Flags.Arg(0))
	}
	sc, err := out.load(cmd.Flags, fl, "http", 1200)
	if err != nil {
		return cmd.Usagef("%v", err)
	}
	if sc.Bytes < 0 || sc.Bytes > 1<<30 {
		return cmd.Usagef("-bytes must be between 0 and 1 GiB")
	}
	dir, err := os.MkdirTemp("", "netsim-http-")
	if err != nil {
		return cmd.Failf("%v", err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), sc.Timeout)
	defer cancel()
	sc.Keep = out.keep()
	rep := httpOverSim(ctx, sc, dir)
	rep.Error = gaveUp(ctx, sc.Timeout, rep.Error)
	if err := out.write(rep.start, rep.records); err != nil {
		return cmd.Failf("%v", err)
	}
	if *fl.asJSON {
		writeJSON(stdout, rep)
	} else {
		fmt.Fprintf(stdout, "netsim http: 2 × GET /file.bin (%d bytes) over %s, seed %d\nlink faults (each way): %s\n", sc.Bytes, sc.ARQ, sc.Seed, describe(sc.Faults))
		for i, r := range rep.Responses {
			fmt.Fprintf(stdout, "  GET %d: %d, %d bytes, sha256 %.16s…, ETag %s\n", i+1, r.Status, r.Bytes, r.SHA256, r.Headers["Etag"])
		}
		fmt.Fprintf(stdout, "completion %v, goodput %.3f Mbit/s\n", rep.Completion.Round(time.Millisecond), rep.Goodput/1e6)
		printLinks(stdout, rep.Links)
		printConns(stdout, append(rep.Client, rep.Server...))
		if rep.Error != "" {
			fmt.Fprintf(stdout, "error: %s\n", rep.Error)
		}
		fmt.Fprintf(stdout, "check: %s\n", rep.Check)
	}
	return exitCode(rep.OK)
}
