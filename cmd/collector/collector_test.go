package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/cmd/internal/clitest"

	"netstages/actors/bus/embedded"
	"netstages/protocols/ping"
)

// The test binary doubles as the collector process.
const collectorEnv = "NETSTAGES_COLLECTOR_TEST_ARGS"

// bins holds the real httpd, pingd and ping, built once by TestMain.
var bins string

func TestMain(m *testing.M) {
	if args := os.Getenv(collectorEnv); args != "" {
		os.Exit(Run(strings.Fields(args), os.Stdout, os.Stderr, nil))
	}
	os.Exit(clitest.Main(m, func(dir string) { bins = dir }, "netstages/cmd/httpd", "netstages/cmd/pingd", "netstages/cmd/ping"))
}

// watcher collects a child's output and reports the first submatch of re.
type watcher struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	part  []byte
	re    *regexp.Regexp
	found chan string
}

func newWatcher(re *regexp.Regexp) *watcher {
	return &watcher{re: re, found: make(chan string, 1)}
}

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		if m := w.re.FindSubmatch(w.part[:i]); m != nil && w.found != nil {
			w.found <- string(m[1])
			w.found = nil // report once
		}
		w.part = w.part[i+1:]
	}
	return len(p), nil
}

func (w *watcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// daemon is a long-running child process: a real httpd or pingd, or the
// collector.
type daemon struct {
	cmd    *exec.Cmd
	out    *watcher // stdout and stderr
	addr   string   // what the ready line announced
	err    error    // the exit error, set before exited closes
	exited chan struct{}
}

// startDaemon runs argv and waits for a line matching ready on stdout or
// stderr; the ready regexp's first group is the daemon's address.
func startDaemon(t *testing.T, ready string, env []string, argv ...string) *daemon {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	d := &daemon{cmd: cmd, out: newWatcher(regexp.MustCompile(ready)), exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = d.out, d.out
	found := d.out.found
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // an error once it has exited
		<-d.exited
	})
	select {
	case d.addr = <-found:
		return d
	case <-d.exited:
		t.Fatalf("%s exited before it was ready: %v\n%s", argv[0], d.err, d.out)
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not start:\n%s", argv[0], d.out)
	}
	return nil
}

// stop sends SIGTERM and returns the exit error.
func (d *daemon) stop(t *testing.T) error {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-d.exited:
		return d.err
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not stop on SIGTERM:\n%s", d.cmd.Path, d.out)
	}
	return nil
}

func (d *daemon) summary(t *testing.T) Summary {
	t.Helper()
	resp, err := http.Get("http://" + d.addr + "/summary.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s Summary
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// pingRun is what one `ping -json` run printed: the RTT of every in-time
// reply and the summary.
type pingRun struct {
	probe   string
	rtts    []float64
	summary ping.Summary
}

// runPing runs the real ping binary against target, publishing to natsURL
// as instance probe.
func runPing(t *testing.T, natsURL, probe, target string, count int) pingRun {
	t.Helper()
	cmd := exec.Command(filepath.Join(bins, "ping"), "-json", "-c", fmt.Sprint(count), "-i", "5ms", "-W", "2s",
		"-bus", natsURL, "-instance", probe, target)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ping %s: %v\n%s", target, err, stderr.String())
	}
	r := pingRun{probe: probe}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var line struct {
			Type string   `json:"type"`
			RTT  *float64 `json:"rtt_ms"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("ping printed %q: %v", sc.Text(), err)
		}
		switch line.Type {
		case ping.KindReply:
			r.rtts = append(r.rtts, *line.RTT)
		case ping.KindSummary:
			if err := json.Unmarshal(sc.Bytes(), &r.summary); err != nil {
				t.Fatal(err)
			}
		}
	}
	return r
}

// expectRTT is the Smokeping-style view of a list of runs, computed from
// what the ping binaries printed.
func expectRTT(runs []pingRun) RTTStats {
	var s RTTStats
	var all []float64
	for _, r := range runs {
		s.Sent += r.summary.Transmitted
		s.Lost += r.summary.Lost
		all = append(all, r.rtts...)
	}
	s.Received = uint64(len(all))
	s.LossPct = 100 * float64(s.Lost) / float64(s.Received+s.Lost)
	sort.Float64s(all)
	s.MinMs, s.MaxMs = all[0], all[len(all)-1]
	for _, v := range all {
		s.AvgMs += v
	}
	s.AvgMs /= float64(len(all))
	if m := len(all); m%2 == 1 {
		s.MedianMs = all[m/2]
	} else {
		s.MedianMs = (all[m/2-1] + all[m/2]) / 2
	}
	return s
}

// sameRTT compares everything but the standard deviation (which
// accumulates sums in another order).
func sameRTT(is *is.I, got, want RTTStats) {
	is.Helper()
	is.Equal(got.Sent, want.Sent)         // packets sent, as ping counted them
	is.Equal(got.Received, want.Received) // in-time replies, as ping printed them
	is.Equal(got.Lost, want.Lost)         // timeouts, as ping counted them
	is.True(near(got.LossPct, want.LossPct))
	is.Equal(got.MinMs, want.MinMs) // the very sample ping printed
	is.Equal(got.MaxMs, want.MaxMs) // the very sample ping printed
	is.True(near(got.AvgMs, want.AvgMs))
	is.True(near(got.MedianMs, want.MedianMs))
}

// TestCollectorMergesAFleetExactly is the fleet of issue 10 on one box: an
// embedded NATS JetStream on 127.0.0.1; three real httpd processes and two
// probes running the real ping binary against two real pingd processes
// publish to it with -bus nats://...; the collector's merged view is
// checked against what each of them reported itself.
func TestCollectorMergesAFleetExactly(t *testing.T) {
	is := is.New(t)
	nats, err := embedded.Start(embedded.Config{Dir: t.TempDir()})
	is.NoErr(err) // NATS with JetStream on 127.0.0.1
	defer nats.Shutdown()
	url := nats.URL()
	root := t.TempDir()
	is.NoErr(os.WriteFile(filepath.Join(root, "index.html"), []byte("hello fleet\n"), 0o644))

	logPath := filepath.Join(t.TempDir(), "merged.log")
	col := startDaemon(t, `summary on http://([0-9.:]+)/`,
		[]string{collectorEnv + "=" + strings.Join([]string{"-bus", url, "-addr", "127.0.0.1:0", "-access-log", logPath}, " ")},
		os.Args[0], "-test.run=^$")

	// Three httpd instances serve 4, 5 and 6 requests, one of them a 404 each.
	logs := t.TempDir()
	webs := make([]*daemon, 3)
	for i := range webs {
		name := fmt.Sprintf("web-%d", i+1)
		webs[i] = startDaemon(t, `httpd: serving .* on http://([0-9.:]+)/`, nil, filepath.Join(bins, "httpd"),
			"-addr", "127.0.0.1:0", "-root", root, "-bus", url, "-instance", name,
			"-access-log", filepath.Join(logs, name+".log"))
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for i, w := range webs {
		for j := range 4 + i {
			path := "/index.html"
			if j == 0 {
				path = "/missing"
			}
			resp, err := client.Get("http://" + w.addr + path)
			is.NoErr(err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	for _, w := range webs {
		is.NoErr(w.stop(t)) // httpd exits 0 on SIGTERM, its events forwarded
	}

	// Two pingd targets, the second dropping 30% (seeded); probe-a pings
	// both, probe-b the lossy one, all at once.
	const count, seed, loss = 20, 7, 0.3
	clean := startDaemon(t, `pingd: serving UDP ping on (\S+) `, nil, filepath.Join(bins, "pingd"), "-addr", "127.0.0.1:0")
	lossy := startDaemon(t, `pingd: serving UDP ping on (\S+) `, nil, filepath.Join(bins, "pingd"), "-addr", "127.0.0.1:0",
		"-loss", fmt.Sprint(loss), "-seed", fmt.Sprint(seed))
	type job struct{ probe, target string }
	jobs := []job{{"probe-a", clean.addr}, {"probe-a", lossy.addr}, {"probe-b", lossy.addr}}
	runs := make([]pingRun, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() { runs[i] = runPing(t, url, j.probe, j.target, count) })
	}
	wg.Wait()
	var wantEvents uint64
	for _, r := range runs {
		is.Equal(r.summary.Transmitted, uint64(count))                            // every ping sent
		is.Equal(r.summary.Late+r.summary.Duplicates, uint64(0))                  // none late or doubled on loopback
		is.Equal(r.summary.Received+r.summary.Lost, uint64(count))                // each answered or lost
		is.Equal(len(r.rtts), int(r.summary.Received))                            // one reply line per reply
		wantEvents += r.summary.Transmitted + r.summary.Received + r.summary.Lost // sent, then received or lost
	}
	var wantLost uint64
	for _, d := range ping.Drops(seed, loss, 2*count) {
		if d {
			wantLost++
		}
	}
	is.True(wantLost > 0)                                         // the seed drops some
	is.Equal(runs[1].summary.Lost+runs[2].summary.Lost, wantLost) // exactly pingd's seeded drops
	is.Equal(runs[0].summary.Lost, uint64(0))                     // the clean target loses none

	// Per request: RequestDone, ConnOpened and ConnClosed.
	wantEvents += 3 * (4 + 5 + 6)
	deadline := time.Now().Add(30 * time.Second)
	var s Summary
	for s = col.summary(t); s.Events < wantEvents && time.Now().Before(deadline); s = col.summary(t) {
		time.Sleep(50 * time.Millisecond)
	}
	is.Equal(s.Events, wantEvents) // every event, once
	is.Equal(s.Requests, uint64(15))
	is.Equal(s.Undecoded, uint64(0))
	is.Equal(len(s.Instances), 5) // three webs, two probes
	ownLog := make([]string, len(webs))
	for i := range webs {
		name := fmt.Sprintf("web-%d", i+1)
		b, err := os.ReadFile(filepath.Join(logs, name+".log"))
		is.NoErr(err) // the instance's own access log
		ownLog[i] = string(b)
		c := s.Instances[name]
		n := uint64(4 + i)
		is.Equal(c.Events, 3*n)                   // its events only
		is.Equal(c.Requests, n)                   // per-instance requests
		is.Equal(c.Status["2xx"], n-1)            // the index page
		is.Equal(c.Status["4xx"], uint64(1))      // the 404
		is.Equal(c.ConnsOpened, n)                // one connection per request
		is.Equal(c.ConnsClosed, n)                // all closed
		is.Equal(c.ConnsActive, int64(0))         // none left
		is.Equal(c.Bytes, bytesLogged(ownLog[i])) // bytes as the instance logged them
		is.Equal(c.PacketsSent, uint64(0))        // no pings from a web server
	}
	for _, p := range []string{"probe-a", "probe-b"} {
		var want InstanceCounts
		for _, r := range runs {
			if r.probe == p {
				want.PacketsSent += r.summary.Transmitted
				want.PacketsRecv += r.summary.Received
				want.PacketsLost += r.summary.Lost
			}
		}
		c := s.Instances[p]
		is.Equal(c.PacketsSent, want.PacketsSent)                              // per-probe sent, as ping counted
		is.Equal(c.PacketsRecv, want.PacketsRecv)                              // per-probe received
		is.Equal(c.PacketsLost, want.PacketsLost)                              // per-probe lost
		is.Equal(c.Events, want.PacketsSent+want.PacketsRecv+want.PacketsLost) // nothing else
		is.Equal(c.Requests, uint64(0))                                        // no requests from a probe		is.True(!c.Last.IsZero()) // when the probe was last heard of

	}

	// Ping statistics per target across probes, Smokeping style, and per
	// probe, against the ping binaries' own output.
	is.Equal(len(s.Targets), 2) // the two pingd
	tc, tl := s.Targets[clean.addr], s.Targets[lossy.addr]
	sameRTT(is, tc.RTTStats, expectRTT(runs[:1]))
	is.Equal(len(tc.Probes), 1) // only probe-a measured the clean target
	sameRTT(is, tc.Probes["probe-a"], expectRTT(runs[:1]))
	sameRTT(is, tl.RTTStats, expectRTT(runs[1:]))
	is.Equal(len(tl.Probes), 2) // both measured the lossy one
	sameRTT(is, tl.Probes["probe-a"], expectRTT(runs[1:2]))
	sameRTT(is, tl.Probes["probe-b"], expectRTT(runs[2:]))

	page, err := http.Get("http://" + col.addr + "/")
	is.NoErr(err)
	html, err := io.ReadAll(page.Body)
	page.Body.Close()
	is.NoErr(err)
	is.True(bytes.Contains(html, []byte("web-3")) && bytes.Contains(html, []byte(lossy.addr))) // the HTML page shows instances and targets

	// The merged access log is every instance's own log, each line prefixed
	// by the instance, nothing more, nothing less.
	var want []string
	for i, l := range ownLog {
		for _, line := range strings.Split(strings.TrimSpace(l), "\n") {
			want = append(want, fmt.Sprintf("web-%d %s", i+1, line))
		}
	}
	is.NoErr(col.stop(t)) // exit 0 on SIGTERM, log flushed
	merged, err := os.ReadFile(logPath)
	is.NoErr(err)
	got := strings.Split(strings.TrimSpace(string(merged)), "\n")
	slices.Sort(got)
	slices.Sort(want)
	is.Equal(len(want), 15)
	is.Equal(got, want) // merged log == union of the instances' logs
	tail := slices.Clone(s.AccessLog)
	slices.Sort(tail)
	is.Equal(tail, want) // and the JSON's tail holds the same 15 lines
	is.NoErr(clean.stop(t))
	is.NoErr(lossy.stop(t))
}

// bytesLogged sums the size field of Common Log Format lines.
func bytesLogged(log string) int64 {
	var n int64
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		f := strings.Fields(l)
		var b int64
		if _, err := fmt.Sscan(f[len(f)-1], &b); err == nil {
			n += b
		}
	}
	return n
}

// near compares with a relative tolerance (sums in another order).
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
