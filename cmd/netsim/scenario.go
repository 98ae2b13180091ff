package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"netstages/sim"
	"netstages/sim/rdt"
)

// scenarioFlags are the flags a scenario file replaces; giving both is a
// usage error, so a run is described in exactly one place.
func scenarioFlags() []string {
	return append(linkFlagNames(), "arq", "window", "mss", "bytes", "seed", "timeout", "min-rto")
}

// linkFlagNames are the flags linkFlags registers: what a scenario file's
// [faults] table replaces.
func linkFlagNames() []string {
	return []string{"latency", "jitter", "loss", "burst", "dup", "reorder", "corrupt", "rate", "queue", "mtu"}
}

// maxScenarioSize bounds the TOML file read.
const maxScenarioSize = 1 << 20

// loadScenario reads an experiment from a TOML file, for example:
//
//	proto = "transfer"   # or "echo"; must match the command
//	seed = 7
//	arq = "sr"
//	window = 32
//	bytes = 1048576
//	min_rto = "200ms"
//	[faults]
//	latency = "10ms"
//	loss = 0.05
//	rate = 10000000
//	[faults.burst]
//	p = 0.01
//	r = 0.3
//	h = 0.2
//	k = 1.0
//	[[faults.down]]
//	from = "1s"
//	to = "2s"
//
// The faults apply to both directions. An empty proto takes the file's (a
// sweep); axes names the flags that may still be given beside the file
// (a sweep's -loss and -arq, which vary around it).
func loadScenario(path, proto string, fs *flag.FlagSet, axes ...string) (scenario, error) {
	sc := scenario{Proto: proto, Seed: 1, ARQ: rdt.SelectiveRepeat, Window: 32, MSS: 1200, Bytes: 1 << 20,
		MinRTO: 200 * time.Millisecond, Timeout: 5 * time.Minute}
	if err := decodeScenario(path, &sc, fs, scenarioFlags(), axes); err != nil {
		return scenario{}, err
	}
	switch {
	case proto == "" && sc.Proto == "":
		return scenario{}, fmt.Errorf("%s: say which run it describes (proto = ...)", path)
	case proto != "" && sc.Proto != proto:
		return scenario{}, fmt.Errorf("%s describes a %q run, not %q", path, sc.Proto, proto)
	case sc.Bytes <= 0:
		return scenario{}, errors.New("bytes must be positive")
	}
	if _, err := rdt.ParseARQ(string(sc.ARQ)); err != nil {
		return scenario{}, err
	}
	return sc, sc.check()
}

// decodeScenario reads the TOML file at path into into, after checking
// that none of the flags the file replaces (but axes) was also given.
func decodeScenario(path string, into any, fs *flag.FlagSet, replaces, axes []string) error {
	var clash []string
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(replaces, f.Name) && !slices.Contains(axes, f.Name) {
			clash = append(clash, "-"+f.Name)
		}
	})
	if len(clash) > 0 {
		return fmt.Errorf("-scenario describes the whole run; drop %s", strings.Join(clash, ", "))
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if info.Size() > maxScenarioSize {
		return fmt.Errorf("%s: over %d bytes", path, maxScenarioSize)
	}
	md, err := toml.DecodeFile(path, into)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		return fmt.Errorf("%s: unknown keys %v", path, keys)
	}
	return nil
}

// pingScenario is a ping experiment as a TOML file:
//
//	proto = "ping"
//	seed = 7
//	count = 100         # -c
//	interval = "10ms"   # -i
//	wait = "1s"         # -W
//	[faults]
//	latency = "20ms"
//	loss = 0.1
type pingScenario struct {
	Proto    string        `toml:"proto"`
	Seed     uint64        `toml:"seed"`
	Count    int           `toml:"count"`
	Interval time.Duration `toml:"interval"`
	Wait     time.Duration `toml:"wait"`
	Faults   sim.Faults    `toml:"faults"`
}

// pingScenarioFlags are the flags a ping scenario file replaces.
func pingScenarioFlags() []string {
	return append(linkFlagNames(), "seed", "c", "i", "W")
}

// loadPingScenario reads a ping experiment, with netsim ping's defaults
// for what the file leaves out.
func loadPingScenario(path string, fs *flag.FlagSet) (pingScenario, error) {
	ps := pingScenario{Seed: 1, Count: 20, Interval: 10 * time.Millisecond, Wait: time.Second, Faults: sim.Faults{Latency: 10 * time.Millisecond}}
	if err := decodeScenario(path, &ps, fs, pingScenarioFlags(), nil); err != nil {
		return pingScenario{}, err
	}
	if ps.Proto != "ping" {
		return pingScenario{}, fmt.Errorf("%s describes a %q run, not \"ping\"", path, ps.Proto)
	}
	return ps, ps.check()
}

// check rejects a ping experiment that cannot run, from flags or a file.
func (ps pingScenario) check() error {
	if ps.Count <= 0 || ps.Interval <= 0 || ps.Wait <= 0 {
		return errors.New("the count (-c), interval (-i) and wait (-W) must be positive")
	}
	return ps.Faults.Validate()
}
