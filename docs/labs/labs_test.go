package labs

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/rogpeppe/go-internal/testscript"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestLabs runs every lab's script with the netstages commands the labs
// use, freshly built, first on PATH.
func TestLabs(t *testing.T) {
	bin := t.TempDir()
	args := []string{"build", "-o", bin}
	for _, c := range []string{"echod", "httpd", "proxy", "ping", "pingd", "smtpsend", "netsim", "stagegraph"} {
		args = append(args, "netstages/cmd/"+c)
	}
	build := exec.Command("go", args...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build the commands: %v", err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitport": waitPort,
		},
	})
}

// waitPort waits (up to 20 s) until a server listens: "waitport tcp
// HOST:PORT" dials until a connection is accepted; "waitport udp
// HOST:PORT" waits until a UDP socket is bound to PORT. It looks in
// /proc/net/udp rather than trying to bind the port itself: a probe that
// holds the port for a moment can make the server it waits for fail to
// start.
func waitPort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 || (args[0] != "tcp" && args[0] != "udp") {
		ts.Fatalf("usage: waitport tcp|udp HOST:PORT")
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if args[0] == "tcp" {
			if c, err := net.DialTimeout("tcp", args[1], time.Second); err == nil {
				c.Close()
				return
			}
		} else if udpPortBound(ts, args[1]) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("nothing listens on %s %s", args[0], args[1])
}

// udpPortBound reports whether /proc/net/udp lists a socket bound to
// addr's port (its local_address column is "HEXIP:HEXPORT").
func udpPortBound(ts *testscript.TestScript, addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		ts.Fatalf("waitport: %v", err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		ts.Fatalf("waitport: port %q: %v", port, err)
	}
	table, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		ts.Fatalf("waitport: %v", err)
	}
	suffix := fmt.Sprintf(":%04X", n)
	for _, line := range strings.Split(string(table), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 && strings.HasSuffix(f[1], suffix) {
			return true
		}
	}
	return false
}

// TestLabsShowOnlyCommandsCIRuns checks each lab against its script: every
// command in a lab's console blocks ("$ command") is exec'd by the script
// (a "< FILE" in the lab is the script's "stdin FILE"), and every lab has a
// script and every script a lab.
func TestLabsShowOnlyCommandsCIRuns(t *testing.T) {
	is := is.New(t)
	labs, err := filepath.Glob("*.md")
	is.NoErr(err) // list the labs
	scripts, err := filepath.Glob("testdata/*.txtar")
	is.NoErr(err) // list the scripts
	var names []string
	for _, lab := range labs {
		if lab == "README.md" {
			continue
		}
		name := strings.TrimSuffix(lab, ".md")
		names = append(names, name)
		script, err := os.ReadFile(filepath.Join("testdata", name+".txtar"))
		is.NoErr(err) // every lab has a script
		execs := execLines(string(script))
		cmds := labCommands(t, lab)
		is.True(len(cmds) > 0) // a lab shows commands
		for _, c := range cmds {
			cmd, stdin, _ := strings.Cut(c, " < ")
			if !execs[cmd] {
				t.Errorf("%s shows `%s`, which testdata/%s.txtar does not run", lab, c, name)
			}
			if stdin != "" && !strings.Contains(string(script), "stdin "+stdin+"\n") {
				t.Errorf("%s feeds %s to `%s`; the script must too (stdin %s)", lab, stdin, cmd, stdin)
			}
		}
	}
	is.Equal(len(scripts), len(names)) // every script has a lab
}

// execLines returns the commands a script runs, as a lab would show them.
func execLines(script string) map[string]bool {
	out := map[string]bool{}
	for line := range strings.Lines(script) {
		line = strings.TrimSpace(line)
		if line == "-- " || strings.HasPrefix(line, "-- ") {
			break // the archive's files follow
		}
		for _, p := range []string{"! exec ", "? exec ", "exec "} {
			if rest, ok := strings.CutPrefix(line, p); ok {
				if i := strings.LastIndex(rest, " &"); i >= 0 && strings.HasSuffix(rest, "&") {
					rest = rest[:i] + " &"
				}
				out[rest] = true
				break
			}
		}
	}
	return out
}

// labCommands returns the "$ " lines of a lab's console blocks.
func labCommands(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```console"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in && strings.HasPrefix(line, "$ "):
			cmds = append(cmds, strings.TrimPrefix(line, "$ "))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cmds
}
