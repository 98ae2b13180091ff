package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestTourPasses runs the README's first command in-process (lossy
// simulated links by default) and over transport/mem: every stop must check
// out and the summary must say so.
func TestTourPasses(t *testing.T) {
	capture := filepath.Join(t.TempDir(), "tour.pcap")
	for _, args := range [][]string{{"tour", "-pcap", capture}, {"tour", "-net", "mem"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			is := is.New(t)
			var stdout, stderr bytes.Buffer
			code := Run(args, &stdout, &stderr)
			if code != 0 {
				t.Log(stdout.String(), stderr.String())
			}
			is.Equal(code, 0)                                                      // tour passed
			is.True(strings.Contains(stdout.String(), "tour passed"))              // says so
			is.True(strings.Contains(stdout.String(), "reader -- \"connio.Chunk")) // prints the echo graph
			if args[1] == "-pcap" {
				is.True(strings.Contains(stdout.String(), "the laptop–pingd link loses 20% of packets each way")) // ping through 20% loss
				is.True(strings.Contains(stdout.String(), "pingd dropped 0, the link lost"))                      // every loss on the link
				is.True(countPackets(t, capture) > 100)                                                           // the world's links captured
				drops, err := os.ReadFile(capture + ".drops.txt")
				is.NoErr(err)                                                          // with the drops aside
				is.True(strings.Contains(string(drops), "laptop:40000 > pingd:12000")) // the ping requests lost
			} else {
				is.True(strings.Contains(stdout.String(), "(-loss 0.2 -seed 1)")) // pingd drops 20%
			}
		})
	}
}

func TestUsage(t *testing.T) {
	is := is.New(t)
	var stdout, stderr bytes.Buffer
	is.Equal(Run(nil, &stdout, &stderr), 2)                               // no command: usage
	is.Equal(Run([]string{"bogus"}, &stdout, &stderr), 2)                 // unknown command
	is.Equal(Run([]string{"tour", "-graph", "png"}, &stdout, &stderr), 2) // bad flag value
	is.Equal(Run([]string{"tour", "-h"}, &stdout, &stderr), 0)            // help
	is.True(strings.Contains(stderr.String(), "usage: netsim"))
}
