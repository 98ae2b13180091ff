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

	"netstages/sim/rdt"
)

// scenarioFlags are the flags a scenario file replaces; giving both is a
// usage error, so a run is described in exactly one place.
var scenarioFlags = []string{"latency", "jitter", "loss", "burst", "dup", "reorder", "corrupt", "rate", "queue", "mtu",
	"arq", "window", "mss", "bytes", "seed", "timeout", "min-rto"}

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
	var clash []string
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(scenarioFlags, f.Name) && !slices.Contains(axes, f.Name) {
			clash = append(clash, "-"+f.Name)
		}
	})
	if len(clash) > 0 {
		return scenario{}, fmt.Errorf("-scenario describes the whole run; drop %s", strings.Join(clash, ", "))
	}
	info, err := os.Stat(path)
	if err != nil {
		return scenario{}, err
	}
	if info.Size() > maxScenarioSize {
		return scenario{}, fmt.Errorf("%s: over %d bytes", path, maxScenarioSize)
	}
	sc := scenario{Proto: proto, Seed: 1, ARQ: rdt.SelectiveRepeat, Window: 32, MSS: 1200, Bytes: 1 << 20,
		MinRTO: 200 * time.Millisecond, Timeout: 5 * time.Minute}
	md, err := toml.DecodeFile(path, &sc)
	if err != nil {
		return scenario{}, fmt.Errorf("%s: %w", path, err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		return scenario{}, fmt.Errorf("%s: unknown keys %v", path, keys)
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
