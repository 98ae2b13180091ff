package cli_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/cmd/internal/cli"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseConventions(t *testing.T) {
	cases := []struct {
		args []string
		code int
		done bool
		out  string
	}{
		{nil, 0, false, ""},
		{[]string{"-v"}, 0, false, ""},
		{[]string{"-h"}, cli.ExitOK, true, "usage: tool [-n N]"},
		{[]string{"-nope"}, cli.ExitUsage, true, "flag provided but not defined"},
		{[]string{"-n", "x"}, cli.ExitUsage, true, "invalid value"},
		{[]string{"-version"}, cli.ExitOK, true, "tool devel"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			is := is.New(t)
			var stderr bytes.Buffer
			cmd := cli.New("tool", "[-n N]", "A tool.", &stderr)
			cmd.Flags.Int("n", 1, "a number")
			code, done := cmd.Parse(c.args)
			is.Equal(code, c.code)
			is.Equal(done, c.done)
			is.True(strings.Contains(stderr.String(), c.out)) // says what happened
		})
	}
}

func TestUsagefAndFailf(t *testing.T) {
	is := is.New(t)
	var stderr bytes.Buffer
	cmd := cli.New("tool", "", "A tool.", &stderr)
	is.Equal(cmd.Usagef("bad %s", "thing"), cli.ExitUsage)
	is.True(strings.HasPrefix(stderr.String(), "tool: bad thing\nusage: tool")) // message, then usage
	stderr.Reset()
	is.Equal(cmd.Failf("no route"), cli.ExitFail)
	is.Equal(stderr.String(), "tool: no route\n")
}

func TestCheckServerArgs(t *testing.T) {
	is := is.New(t)
	var stderr bytes.Buffer
	cmd := cli.New("tool", "", "A tool.", &stderr)
	is.NoErr(cmd.Flags.Parse(nil))
	addrs := []cli.AddrFlag{{Name: "addr", Value: "127.0.0.1:1"}, {Name: "status-addr", Optional: true}}
	is.NoErr(cmd.CheckServerArgs(addrs)) // optional and empty: fine
	addrs[1].Value = "nocolon"
	is.Equal(cmd.CheckServerArgs(addrs).Error(), `-status-addr: address "nocolon" is not HOST:PORT`) // names the flag
	addrs[1].Value = "127.0.0.1:99999"
	is.Equal(cmd.CheckServerArgs(addrs).Error(), `-status-addr: address "127.0.0.1:99999": port 99999 is not in 0-65535`) // a usage error, not a failed listen
	addrs[1].Value = ":0"
	is.NoErr(cmd.CheckServerArgs(addrs)) // all interfaces, any port
	is.NoErr(cmd.Flags.Parse([]string{"extra"}))
	is.Equal(cmd.CheckServerArgs(nil).Error(), `unexpected argument "extra"`)
}
