package cli_test

import (
	"io"
	"strings"
	"testing"

	"github.com/matryer/is"

	"netstages/cmd/internal/cli"
)

func TestBusFlags(t *testing.T) {
	is := is.New(t)
	cmd := cli.New("x", "", "", io.Discard)
	f := cmd.BusFlags()
	_, done := cmd.Parse([]string{"-bus", "nats://127.0.0.1:4222", "-instance", "web-1"})
	is.True(!done)
	is.NoErr(f.Check()) // nats:// is a backend
	is.Equal(*f.Instance, "web-1")

	cmd = cli.New("x", "", "", io.Discard)
	f = cmd.BusFlags()
	cmd.Parse(nil)
	is.NoErr(f.Check()) // mem is the default
	b, err := f.Open(nil)
	is.NoErr(err)     // a local bus needs nothing
	is.True(b != nil) // and is returned

	cmd = cli.New("x", "", "", io.Discard)
	f = cmd.BusFlags()
	cmd.Parse([]string{"-bus", "redis://x"})
	is.True(f.Check() != nil) // anything else is a usage error
}

func TestCheckNATS(t *testing.T) {
	is := is.New(t)
	is.NoErr(cli.CheckNATS("nats://127.0.0.1:4222", "give nats://"))   // a NATS server
	is.NoErr(cli.CheckNATS("tls://nats.example:4222", "give nats://")) // over TLS
	err := cli.CheckNATS("mem", "give -bus nats://HOST:PORT")
	is.True(err != nil && strings.Contains(err.Error(), "not shared with other processes")) // mem says why it cannot do
	err = cli.CheckNATS("127.0.0.1:4222", "give -bus nats://HOST:PORT")
	is.True(err != nil && strings.Contains(err.Error(), "give -bus nats://HOST:PORT")) // a bare address says what to give
}
