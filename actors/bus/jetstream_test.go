package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/actors/bus"
	"netstages/actors/bus/embedded"
)

// startNATS runs an embedded NATS server with JetStream on 127.0.0.1 for
// one test.
func startNATS(t *testing.T) *embedded.Server {
	t.Helper()
	srv, err := embedded.Start(embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("embedded nats: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

func TestOpenRejectsUnknownBackends(t *testing.T) {
	is := is.New(t)
	_, err := bus.Open("redis://x", bus.Options{})
	is.True(err != nil) // only mem and nats://
	b, err := bus.Open("mem", bus.Options{})
	is.NoErr(err)     // mem is the default
	is.True(b != nil) // a local bus
}

func TestNATSBackendForwardsStampedEventsAndKeepsLocalSubscribers(t *testing.T) {
	is := is.New(t)
	srv := startNATS(t)
	b, err := bus.Open(srv.URL(), bus.Options{Instance: "web-1"})
	is.NoErr(err) // connect and create the event stream
	counter, err := bus.NewConnCounter(b, nil)
	is.NoErr(err) // local subscriber
	ctx := context.Background()
	done := make(chan error, 2)
	go func() { done <- b.Run(ctx) }()
	go func() { done <- counter.Run() }()
	for i := range 50 {
		is.True(b.Publish(request(200+i, "/")))
	}
	is.True(b.Publish(bus.ConnOpened{Server: "httpd", ConnID: 1}))
	b.Close()
	is.NoErr(<-done)
	is.NoErr(<-done)
	is.Equal(counter.Counts().Opened, uint64(1)) // local subscribers still see local events
	st := b.Stats()
	is.Equal(st.Published, uint64(51))                // every event published locally
	is.Equal(st.Forwarded, uint64(51))                // and forwarded to NATS
	is.Equal(st.ForwardDropped+st.Dropped, uint64(0)) // nothing lost

	js, err := bus.DialJetStream(srv.URL(), nil)
	is.NoErr(err) // a fleet consumer
	defer js.Close()
	sub, err := js.Subscriber(bus.SubscriberConfig{})
	is.NoErr(err) // ephemeral: the whole stream
	defer func() { is.NoErr(sub.Close()) }()
	msgs, err := sub.Subscribe(ctx, bus.TopicRequest)
	is.NoErr(err)
	for i := range 50 {
		select {
		case msg := <-msgs:
			s, err := bus.DecodeStamped(msg)
			msg.Ack()
			is.NoErr(err)                                     // a valid envelope
			is.Equal(s.Instance, "web-1")                     // stamped with the instance
			is.Equal(s.Schema, bus.Schema)                    // and the schema version
			is.Equal(s.Event.(bus.RequestDone).Status, 200+i) // in order
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of 50 request events arrived", i)
		}
	}
}

func TestSubscriberSinceSkipsOlderEvents(t *testing.T) {
	is := is.New(t)
	srv := startNATS(t)
	b, err := bus.Open(srv.URL(), bus.Options{Instance: "web-1"})
	is.NoErr(err)
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	is.True(b.Publish(request(201, "/old")))
	time.Sleep(2 * time.Second)
	is.True(b.Publish(request(202, "/new")))
	b.Close()
	is.NoErr(<-done)

	js, err := bus.DialJetStream(srv.URL(), nil)
	is.NoErr(err)
	defer js.Close()
	sub, err := js.Subscriber(bus.SubscriberConfig{Since: time.Second})
	is.NoErr(err) // only the last second
	defer func() { is.NoErr(sub.Close()) }()
	msgs, err := sub.Subscribe(ctx, bus.TopicRequest)
	is.NoErr(err)
	select {
	case msg := <-msgs:
		msg.Ack()
		e, err := bus.Decode(msg)
		is.NoErr(err)
		is.Equal(e.(bus.RequestDone).Target, "/new") // the older event is skipped
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
}
