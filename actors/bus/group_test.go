package bus_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/matryer/is"
	"github.com/nats-io/nats.go"

	"netstages/actors/bus"
)

const (
	groupStream = "T_GROUP"
	groupTopic  = "t.group"
)

func groupFixture(t *testing.T, n int) *bus.JetStream {
	t.Helper()
	srv := startNATS(t)
	js, err := bus.DialJetStream(srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(js.Close)
	if err := js.EnsureStream(bus.StreamConfig{Name: groupStream, Subjects: []string{groupTopic}}); err != nil {
		t.Fatal(err)
	}
	pub, err := js.Publisher(true)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for i := range n {
		if err := pub.Publish(groupTopic, message.NewMessage(fmt.Sprintf("m%02d", i), []byte(fmt.Sprint(i)))); err != nil {
			t.Fatal(err)
		}
	}
	return js
}

func groupConfig() bus.SubscriberConfig {
	return bus.SubscriberConfig{Group: "g", Stream: groupStream, Topic: groupTopic, AckWait: 10 * time.Second}
}

func ackPending(t *testing.T, js *bus.JetStream) (pending, ackPending int) {
	t.Helper()
	info, err := js.Conn().ConsumerInfo(groupStream, bus.DurableName("g", groupTopic))
	if err != nil {
		t.Fatal(err)
	}
	return int(info.NumPending), info.NumAckPending
}

// TestGroupMemberHoldsOneMessageAtATime: while one member of a group sits
// on a message, the other gets every other message (a push consumer would
// have handed the busy member about half of them); a nacked message comes
// back; each message is handled once.
func TestGroupMemberHoldsOneMessageAtATime(t *testing.T) {
	is := is.New(t)
	const n = 30
	js := groupFixture(t, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subA, err := js.Subscriber(groupConfig())
	is.NoErr(err)
	msgsA, err := subA.Subscribe(ctx, groupTopic)
	is.NoErr(err)
	var held *message.Message
	select {
	case held = <-msgsA:
	case <-time.After(10 * time.Second):
		t.Fatal("member A got nothing")
	}

	subB, err := js.Subscriber(groupConfig())
	is.NoErr(err)
	msgsB, err := subB.Subscribe(ctx, groupTopic)
	is.NoErr(err)
	seen := map[string]int{held.UUID: 1}
	nacked := false
	for len(seen) < n {
		select {
		case m := <-msgsB:
			if !nacked { // the first one once more, please
				nacked = true
				m.Nack()
				continue
			}
			seen[m.UUID]++
			m.Ack()
		case <-time.After(10 * time.Second):
			t.Fatalf("member B stopped at %d messages", len(seen))
		}
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s handled %d times", id, c)
		}
	}
	is.True(nacked) // B nacked one, and got it again (all n seen)
	pending, inHand := ackPending(t, js)
	for deadline := time.Now().Add(10 * time.Second); inHand > 1 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond) // B's last acks on their way
		pending, inHand = ackPending(t, js)
	}
	is.Equal(pending, 0) // nothing left to deliver
	is.Equal(inHand, 1)  // only the message A holds
	held.Ack()

	// A's Close waits for its message in hand to be answered.
	_, err = subA.Subscribe(ctx, "t.other")
	is.True(err != nil) // a group consumes its one topic
	is.NoErr(subA.Close())
	is.NoErr(subB.Close())
	pending, inHand = ackPending(t, js)
	is.Equal(pending+inHand, 0) // everything acked
}

// TestGroupCloseWaitsForTheMessageInHand: closing a member while its
// handler works lets the handler's ack through.
func TestGroupCloseWaitsForTheMessageInHand(t *testing.T) {
	is := is.New(t)
	js := groupFixture(t, 1)
	sub, err := js.Subscriber(groupConfig())
	is.NoErr(err)
	msgs, err := sub.Subscribe(context.Background(), groupTopic)
	is.NoErr(err)
	m := <-msgs
	closed := make(chan error, 1)
	go func() { closed <- sub.Close() }()
	time.Sleep(200 * time.Millisecond)
	select {
	case <-closed:
		t.Fatal("Close returned with a message in hand")
	default:
	}
	m.Ack()
	is.NoErr(<-closed)
	_, open := <-msgs
	is.True(!open) // the channel is closed
	pending, inHand := ackPending(t, js)
	is.Equal(pending+inHand, 0) // the ack reached the server
}

// TestGroupRefusesAnOldPushConsumer: a push consumer of the same name (an
// earlier version's) is reported, not silently used.
func TestGroupRefusesAnOldPushConsumer(t *testing.T) {
	is := is.New(t)
	js := groupFixture(t, 0)
	_, err := js.Conn().AddConsumer(groupStream, &nats.ConsumerConfig{Durable: bus.DurableName("g", groupTopic),
		DeliverSubject: "_old.deliver", DeliverGroup: "g", AckPolicy: nats.AckExplicitPolicy, FilterSubject: groupTopic})
	is.NoErr(err)
	_, err = js.Subscriber(groupConfig())
	is.True(err != nil && strings.Contains(err.Error(), "push consumer")) // with what to do about it
}
