package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/actors"
	"netstages/actors/bus"
	"netstages/actors/bus/embedded"
	"netstages/protocols/httpd"
)

// The test binary doubles as the collector process.
const collectorEnv = "NETSTAGES_COLLECTOR_TEST_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(collectorEnv); args != "" {
		os.Exit(Run(strings.Fields(args), os.Stdout, os.Stderr, nil))
	}
	goleak.VerifyTestMain(m)
}

// web is one httpd instance publishing on its own bus to NATS.
type web struct {
	name   string
	events *bus.Bus
	srv    *actors.Server
	files  *httpd.Server
	addr   string
	local  bytes.Buffer // the instance's own access log
	wg     sync.WaitGroup
}

func startWeb(t *testing.T, name, natsURL, root string) *web {
	t.Helper()
	events, err := bus.Open(natsURL, bus.Options{Instance: name})
	if err != nil {
		t.Fatal(err)
	}
	w := &web{name: name, events: events}
	access, err := bus.NewAccessLog(events, &w.local, bus.FormatCommon)
	if err != nil {
		t.Fatal(err)
	}
	meter := actors.NewMeter()
	w.files, err = httpd.New(httpd.Config{Root: root, Bus: events, Name: name, CacheBytes: -1}, meter)
	if err != nil {
		t.Fatal(err)
	}
	w.srv = &actors.Server{Name: name, Handle: w.files.Handler(), Refuse: w.files.Refuse, Bus: events, Grace: time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.addr = ln.Addr().String()
	w.wg.Go(func() { _ = events.Run(context.Background()) })
	w.wg.Go(func() { _ = access.Run() })
	w.wg.Go(func() { _ = w.srv.Serve(ln) })
	return w
}

// stop shuts the server down and flushes its events to NATS.
func (w *web) stop() {
	w.srv.Shutdown()
	for w.srv.Active() > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	w.events.Close()
	w.wg.Wait()
	w.files.Close()
}

// collector is the collector subprocess.
type collector struct {
	cmd  *exec.Cmd
	addr string
}

func startCollector(t *testing.T, args ...string) *collector {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), collectorEnv+"="+strings.Join(args, " "))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`summary on http://([0-9.:]+)/`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case a := <-found:
		return &collector{cmd: cmd, addr: a}
	case <-time.After(20 * time.Second):
		t.Fatal("collector did not start")
	}
	return nil
}

func (c *collector) summary(t *testing.T) Summary {
	t.Helper()
	resp, err := http.Get("http://" + c.addr + "/summary.json")
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

// probe publishes the packet events of a ping probe: for each target, one
// RTT per sequence number, 0 meaning lost.
func probe(t *testing.T, natsURL, name string, rtts map[string][]time.Duration) {
	t.Helper()
	events, err := bus.Open(natsURL, bus.Options{Instance: name})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = events.Run(context.Background()) })
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for target, list := range rtts {
		for seq, d := range list {
			events.Publish(bus.PacketSent{Probe: name, Target: target, Seq: uint64(seq), Size: 64, At: at})
			if d == 0 {
				events.Publish(bus.PacketLost{Probe: name, Target: target, Seq: uint64(seq), At: at})
				continue
			}
			events.Publish(bus.PacketReceived{Probe: name, Target: target, Seq: uint64(seq), RTT: d, At: at})
		}
	}
	events.Close()
	wg.Wait()
	if st := events.Stats(); st.Dropped+st.ForwardDropped != 0 {
		t.Fatalf("probe %s dropped events: %+v", name, st)
	}
}

func ms(v ...float64) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x * float64(time.Millisecond))
	}
	return out
}

func TestCollectorMergesAFleetExactly(t *testing.T) {
	is := is.New(t)
	nats, err := embedded.Start(embedded.Config{Dir: t.TempDir()})
	is.NoErr(err) // NATS with JetStream on 127.0.0.1
	defer nats.Shutdown()
	root := t.TempDir()
	is.NoErr(os.WriteFile(filepath.Join(root, "index.html"), []byte("hello fleet\n"), 0o644))

	logPath := filepath.Join(t.TempDir(), "merged.log")
	col := startCollector(t, "-bus", nats.URL(), "-addr", "127.0.0.1:0", "-access-log", logPath)

	// Three httpd instances serve 4, 5 and 6 requests, one of them a 404 each.
	webs := make([]*web, 3)
	for i := range webs {
		webs[i] = startWeb(t, fmt.Sprintf("web-%d", i+1), nats.URL(), root)
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
		w.stop()
	}
	// Two ping probes measure two targets; probe-b sees a loss on the first.
	probe(t, nats.URL(), "probe-a", map[string][]time.Duration{
		"192.0.2.1:7": ms(10, 20, 30), "192.0.2.2:7": ms(1, 2),
	})
	probe(t, nats.URL(), "probe-b", map[string][]time.Duration{
		"192.0.2.1:7": ms(40, 0, 50, 60),
	})

	// Expected totals: per request RequestDone+ConnOpened+ConnClosed; per
	// packet sent plus received or lost.
	wantEvents := uint64(3*(4+5+6)) + 2*(3+2+4)
	deadline := time.Now().Add(30 * time.Second)
	var s Summary
	for s = col.summary(t); s.Events < wantEvents && time.Now().Before(deadline); s = col.summary(t) {
		time.Sleep(50 * time.Millisecond)
	}
	is.Equal(s.Events, wantEvents) // every event, once
	is.Equal(s.Requests, uint64(15))
	is.Equal(s.Undecoded, uint64(0))
	for i, w := range webs {
		c := s.Instances[w.name]
		n := uint64(4 + i)
		is.Equal(c.Requests, n)                          // per-instance requests
		is.Equal(c.Status["2xx"], n-1)                   // the index page
		is.Equal(c.Status["4xx"], uint64(1))             // the 404
		is.Equal(c.ConnsOpened, n)                       // one connection per request
		is.Equal(c.ConnsClosed, n)                       // all closed
		is.Equal(c.ConnsActive, int64(0))                // none left
		is.Equal(c.Bytes, bytesLogged(w.local.String())) // bytes as the instance logged them
	}
	page, err := http.Get("http://" + col.addr + "/")
	is.NoErr(err)
	html, err := io.ReadAll(page.Body)
	page.Body.Close()
	is.NoErr(err)
	is.True(bytes.Contains(html, []byte("web-3")) && bytes.Contains(html, []byte("192.0.2.1:7"))) // the HTML page shows instances and targets

	// The merged access log is every instance's own log, each line prefixed
	// by the instance, nothing more, nothing less.
	var want []string
	for _, w := range webs {
		for _, l := range strings.Split(strings.TrimSpace(w.local.String()), "\n") {
			want = append(want, w.name+" "+l)
		}
	}
	is.NoErr(col.cmd.Process.Signal(syscall.SIGTERM))
	is.NoErr(col.cmd.Wait()) // exit 0 on SIGTERM, log flushed
	merged, err := os.ReadFile(logPath)
	is.NoErr(err)
	got := strings.Split(strings.TrimSpace(string(merged)), "\n")
	slices.Sort(got)
	slices.Sort(want)
	is.Equal(got, want) // merged log == union of the instances' logs

	// Ping statistics per target across probes, Smokeping style.
	t1 := s.Targets["192.0.2.1:7"]
	is.Equal(t1.Sent, uint64(7))     // 3 from probe-a, 4 from probe-b
	is.Equal(t1.Received, uint64(6)) // one lost
	is.Equal(t1.Lost, uint64(1))
	is.True(near(t1.LossPct, 100.0/7))            // loss across probes
	is.True(near(t1.MinMs, 10))                   // min over both probes
	is.True(near(t1.MaxMs, 60))                   // max over both probes
	is.True(near(t1.AvgMs, 35))                   // (10+20+30+40+50+60)/6
	is.True(near(t1.MedianMs, 35))                // median of six samples
	is.True(near(t1.Probes["probe-b"].AvgMs, 50)) // per probe too
	is.True(near(t1.Probes["probe-b"].LossPct, 25))
	t2 := s.Targets["192.0.2.2:7"]
	is.Equal(t2.Received, uint64(2))
	is.True(near(t2.AvgMs, 1.5))
	is.Equal(len(t2.Probes), 1) // only probe-a measured it
	is.Equal(s.Instances["probe-b"].PacketsLost, uint64(1))
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

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
