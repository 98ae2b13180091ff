package main

import (
	"bytes"
	"testing"

	"github.com/matryer/is"
)

// TestUsageErrors: bad flags print the usage and exit 2, before anything
// starts; -bus must name a NATS server.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "give exactly one of -bus nats://HOST:PORT and -state-dir DIR"},
		{[]string{"-bus", "mem"}, "-bus mem: the in-process bus is not shared with other processes"},
		{[]string{"-bus", "127.0.0.1:4222"}, "give -bus nats://HOST:PORT"},
		{[]string{"-bus", "nats://127.0.0.1:4222", "-log-format", "json"}, "-log-format: want common or combined"},
		{[]string{"-state-dir", t.TempDir(), "extra"}, `unexpected argument "extra"`},
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
	} {
		is := is.New(t)
		var out, errOut bytes.Buffer
		is.Equal(Run(tc.args, &out, &errOut, nil), 2)                       // a usage error
		is.True(bytes.Contains(errOut.Bytes(), []byte(tc.want)))            // says what is wrong
		is.True(bytes.Contains(errOut.Bytes(), []byte("usage: collector"))) // and shows the usage
	}
}
