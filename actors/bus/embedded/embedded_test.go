package embedded_test

import (
	"errors"
	"testing"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"netstages/actors/bus/embedded"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartNeedsAStateDir(t *testing.T) {
	is := is.New(t)
	_, err := embedded.Start(embedded.Config{})
	is.True(errors.Is(err, embedded.ErrNoDir)) // no directory, no durable outbox
}

func TestStreamsSurviveARestart(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	srv, err := embedded.Start(embedded.Config{Dir: dir})
	is.NoErr(err) // JetStream on 127.0.0.1
	nc, err := nats.Connect(srv.URL())
	is.NoErr(err)
	js, err := nc.JetStream()
	is.NoErr(err)
	_, err = js.AddStream(&nats.StreamConfig{Name: "KEEP", Subjects: []string{"keep"}, Storage: nats.FileStorage})
	is.NoErr(err)
	_, err = js.Publish("keep", []byte("still here"))
	is.NoErr(err) // stored
	nc.Close()
	srv.Shutdown()

	srv, err = embedded.Start(embedded.Config{Dir: dir})
	is.NoErr(err) // the same state directory
	defer srv.Shutdown()
	nc, err = nats.Connect(srv.URL())
	is.NoErr(err)
	defer nc.Close()
	js, err = nc.JetStream()
	is.NoErr(err)
	msg, err := js.GetMsg("KEEP", 1)
	is.NoErr(err)                            // the stream came back from disk
	is.Equal(string(msg.Data), "still here") // with its message
}
