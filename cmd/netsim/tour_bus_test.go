package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"

	"netstages/actors/bus"
	"netstages/actors/bus/embedded"
)

// TestTourForwardsEventsToNATS: like the servers, the tour takes -bus
// nats://... and -instance; its connection and request events then reach
// the fleet's event stream, stamped with the instance. A bad -bus is a
// usage error.
func TestTourForwardsEventsToNATS(t *testing.T) {
	is := is.New(t)
	srv, err := embedded.Start(embedded.Config{Dir: t.TempDir()})
	is.NoErr(err) // NATS with JetStream on 127.0.0.1
	defer srv.Shutdown()
	var stdout, stderr bytes.Buffer
	code := Run([]string{"tour", "-net", "mem", "-graph", "none", "-bus", srv.URL(), "-instance", "tour-1"}, &stdout, &stderr)
	if code != 0 {
		t.Log(stdout.String(), stderr.String())
	}
	is.Equal(code, 0) // the tour passed

	js, err := bus.DialJetStream(srv.URL(), nil)
	is.NoErr(err) // connected
	defer js.Close()
	info, err := js.Conn().StreamInfo(bus.EventStream().Name, &nats.StreamInfoRequest{SubjectsFilter: ">"})
	is.NoErr(err)                                      // the event stream exists
	is.True(info.State.Subjects[bus.TopicConn] > 0)    // connection events arrived
	is.True(info.State.Subjects[bus.TopicRequest] > 0) // and request events
	m, err := js.Conn().GetLastMsg(bus.EventStream().Name, bus.TopicConn)
	is.NoErr(err)                                                    // the last connection event
	is.True(strings.Contains(string(m.Data), `"instance":"tour-1"`)) // stamped with the instance

	stderr.Reset()
	is.Equal(Run([]string{"tour", "-bus", "redis://x"}, &stdout, &stderr), 2)  // not a bus
	is.True(strings.Contains(stderr.String(), "want mem or nats://HOST:PORT")) // says so
}
