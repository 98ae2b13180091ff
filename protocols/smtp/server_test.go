package smtp_test

import (
	"net"
	"testing"

	"netstages/protocols/smtp/smtptest"
)

type (
	backend = smtptest.Backend
	testCA  = smtptest.CA
)

func newTestCA(t *testing.T) testCA {
	t.Helper()
	ca, err := smtptest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// serverOpts configures startServer.
type serverOpts struct {
	tls     *testCA
	maxSize int64
	ln      net.Listener // default: 127.0.0.1:0
}

// startServer runs a go-smtp server for one test and stops it at cleanup.
func startServer(t *testing.T, b *backend, o serverOpts) string {
	t.Helper()
	ln := o.ln
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	opts := smtptest.Options{MaxMessageBytes: o.maxSize}
	if o.tls != nil {
		opts.TLS = o.tls.ServerTLS()
	}
	stop := smtptest.Start(ln, b, opts)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}
