package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/matryer/is"
	"go.uber.org/goleak"
)

// TestRunThatTimesOutLeavesNothingRunning gives each experiment a -timeout
// it cannot meet: it must fail, report the time it gave up at, and leave no
// goroutine behind (a sweep runs many experiments in one process).
func TestRunThatTimesOutLeavesNothingRunning(t *testing.T) {
	for _, args := range [][]string{
		{"transfer", "-arq", "saw", "-loss", "0.5", "-latency", "5ms", "-timeout", "300ms"},
		{"transfer", "-arq", "gbn", "-loss", "0.3", "-latency", "5ms", "-timeout", "300ms"},
		{"transfer", "-arq", "sr", "-loss", "1", "-timeout", "300ms"},
		{"echo", "-arq", "sr", "-loss", "0.4", "-timeout", "300ms"},
		{"http", "-arq", "sr", "-loss", "0.4", "-timeout", "300ms"},
		{"smtp", "-arq", "gbn", "-loss", "0.4", "-timeout", "300ms"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			is := is.New(t)
			var stdout, stderr bytes.Buffer
			code := Run(args, &stdout, &stderr)
			t.Log(stdout.String(), stderr.String())
			is.Equal(code, 1)                                                          // a failed run, not a usage error
			is.True(strings.Contains(stdout.String(), "gave up after -timeout 300ms")) // says why
			goleak.VerifyNone(t)
		})
	}
}
