package cli_test

import (
	"net"
	"strings"
	"testing"

	"github.com/matryer/is"

	"netstages/cmd/internal/cli"
)

func TestListenClosesTheServerListenerWhenStatusFails(t *testing.T) {
	is := is.New(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err) // a port already taken
	defer busy.Close()
	ln, status, err := cli.Listen("127.0.0.1:0", "")
	is.NoErr(err)          // no status listener asked for
	is.True(status == nil) // none opened
	addr := ln.Addr().String()
	is.NoErr(ln.Close())
	_, _, err = cli.Listen(addr, busy.Addr().String())
	is.True(err != nil && strings.Contains(err.Error(), "-status-addr")) // the error names the flag
	again, err := net.Listen("tcp", addr)
	is.NoErr(err) // the server listener was closed again
	again.Close()
}
