package outbox_test

import (
	"testing"

	"netstages/protocols/smtp/outbox"
)

// FuzzDecodeItem feeds arbitrary payloads to the outbox item decoder and
// arbitrary messages to the Message-ID reader: errors, never panics, and a
// decoded item always has what delivery needs.
func FuzzDecodeItem(f *testing.F) {
	f.Add([]byte(`{"schema":1,"message_id":"a@b","from":"x@y","to":["z@w"],"data":"aGk="}`), []byte("Message-ID: <a@b>\r\n\r\nhi\r\n"))
	f.Add([]byte(`{"schema":9}`), []byte("Subject: x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, payload, msg []byte) {
		if it, err := outbox.DecodeItem(payload); err == nil {
			if it.MessageID == "" || len(it.To) == 0 || len(it.Data) == 0 {
				t.Fatalf("incomplete item %+v", it)
			}
		}
		if id, err := outbox.MessageID(msg); err == nil && id == "" {
			t.Fatal("empty Message-ID without an error")
		}
	})
}
