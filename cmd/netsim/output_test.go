package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
	"github.com/matryer/is"
)

// countPackets reads a pcap with gopacket's reader and counts its packets.
func countPackets(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for {
		if _, _, err := r.ReadPacketData(); err == io.EOF {
			return n
		} else if err != nil {
			t.Fatal(err)
		}
		n++
	}
}

// TestHTTPAndSMTPWritePcapTraceAndReadScenarios: -pcap, -trace and
// -scenario work for netsim http and smtp as for transfer: the capture holds
// every packet the link's counters say was sent, drops listed aside; the
// trace names the hosts that spoke.
func TestHTTPAndSMTPWritePcapTraceAndReadScenarios(t *testing.T) {
	dir := t.TempDir()
	toml := filepath.Join(dir, "http.toml")
	if err := os.WriteFile(toml, []byte("proto = \"http\"\nseed = 3\nbytes = 20000\nmin_rto = \"20ms\"\n[faults]\nlatency = \"1ms\"\nloss = 0.05\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		args  []string
		hosts []string
	}{
		{"http", []string{"http", "-scenario", toml}, []string{"client", "server"}},
		{"ping", []string{"ping", "-c", "20", "-i", "1ms", "-W", "5s", "-loss", "0.1", "-latency", "1ms"}, []string{"laptop", "server"}},
		{"smtp", []string{"smtp", "-bytes", "10000", "-loss", "0.05", "-latency", "1ms", "-min-rto", "20ms"}, []string{"laptop", "mx"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			capture, trace := filepath.Join(dir, c.name+".pcap"), filepath.Join(dir, c.name+".mmd")
			var stdout, stderr bytes.Buffer
			code := Run(append(c.args, "-json", "-pcap", capture, "-trace", trace, "-trace-n", "1000"), &stdout, &stderr)
			is.Equal(code, 0) // the run checked out
			var rep struct {
				Scenario scenario
				Links    []struct{ Sent uint64 }
			}
			is.NoErr(json.Unmarshal(stdout.Bytes(), &rep)) // JSON report
			if c.name == "http" {
				is.Equal(rep.Scenario.Seed, uint64(3)) // from the scenario file
			}
			is.Equal(countPackets(t, capture), rep.Links[0].Sent+rep.Links[1].Sent) // every packet on the link, both ways
			_, err := os.Stat(capture + ".drops.txt")
			is.NoErr(err) // the side report of drops
			mmd, err := os.ReadFile(trace)
			is.NoErr(err) // the trace
			is.True(strings.HasPrefix(string(mmd), "sequenceDiagram\n"))
			for _, h := range c.hosts {
				is.True(strings.Contains(string(mmd), "participant "+h)) // the hosts that spoke
			}
		})
	}
}
