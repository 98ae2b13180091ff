package cli

import (
	"context"
	"fmt"
	"net"

	"netstages/transport"
)

// Listen opens a server's TCP listener on addr (real sockets, so sendfile
// and splice work) and, when statusAddr is not empty, its status listener
// for /metrics and /debug/stages. If the second fails the first is closed;
// the error names the flag.
func Listen(addr, statusAddr string) (ln, status net.Listener, err error) {
	ln, err = (&transport.System{}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	if statusAddr != "" {
		if status, err = net.Listen("tcp", statusAddr); err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("-status-addr: %w", err)
		}
	}
	return ln, status, nil
}
