package outbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"netstages/actors/bus"
	"netstages/protocols/mail"
)

// Topics and stream of the outbox.
const (
	Topic     = "netstages.outbox"      // messages waiting to be sent
	DeadTopic = "netstages.outbox.dead" // messages refused for good, with the reason
	// ReasonKey is the metadata key (a NATS header) that holds why a
	// message went to DeadTopic.
	ReasonKey = "reason_poisoned"
	// ItemSchema is the version of Item on the wire.
	ItemSchema = 1
	// MaxItem bounds an encoded item; NATS's default max payload is 1 MiB.
	MaxItem = 1 << 20
)

// Errors of Enqueue and the worker.
var (
	ErrNoMessageID = errors.New("outbox: message has no Message-ID header")
	ErrTooBig      = errors.New("outbox: message over the outbox item limit")
)

// Stream is the JetStream stream that keeps the outbox and its dead
// letters. Duplicates is an hour: enqueueing the same Message-ID twice
// within it stores it once.
func Stream() bus.StreamConfig {
	return bus.StreamConfig{Name: "NETSTAGES_OUTBOX", Subjects: []string{Topic, DeadTopic}, Duplicates: time.Hour}
}

// Item is one message in the outbox: the SMTP envelope and the RFC 5322
// bytes, as JSON (Data is base64).
type Item struct {
	Schema    int       `json:"schema"`
	MessageID string    `json:"message_id"` // without angle brackets
	From      string    `json:"from"`
	To        []string  `json:"to"`
	Data      []byte    `json:"data"`
	Enqueued  time.Time `json:"enqueued"`
	Instance  string    `json:"instance,omitempty"`
}

// NewItem checks a composed message and reads its Message-ID.
func NewItem(from string, to []string, data []byte) (Item, error) {
	if len(to) == 0 {
		return Item{}, errors.New("outbox: no recipients")
	}
	id, err := MessageID(data)
	if err != nil {
		return Item{}, err
	}
	if len(data) > MaxItem*3/4-4096 { // base64 grows by 4/3
		return Item{}, fmt.Errorf("%w (%d bytes)", ErrTooBig, len(data))
	}
	return Item{Schema: ItemSchema, MessageID: id, From: from, To: to, Data: data, Enqueued: time.Now().UTC()}, nil
}

// MessageID returns the Message-ID of an RFC 5322 message, without the
// angle brackets.
func MessageID(data []byte) (string, error) {
	m, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("outbox: read headers: %w", err)
	}
	id := strings.TrimSpace(m.Header.Get("Message-ID"))
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	if id == "" || strings.ContainsAny(id, "<> \r\n") {
		return "", ErrNoMessageID
	}
	return id, nil
}

// Message encodes the item as a watermill message whose UUID is the
// Message-ID, so a publisher with dedupe stores it once.
func (it Item) Message() (*message.Message, error) {
	payload, err := json.Marshal(it)
	if err != nil {
		return nil, fmt.Errorf("outbox: encode: %w", err)
	}
	msg := message.NewMessage(it.MessageID, payload)
	msg.Metadata.Set("message_id", it.MessageID)
	return msg, nil
}

// DecodeItem reads an item from a message payload.
func DecodeItem(payload []byte) (Item, error) {
	if len(payload) > MaxItem {
		return Item{}, ErrTooBig
	}
	var it Item
	if err := json.Unmarshal(payload, &it); err != nil {
		return Item{}, fmt.Errorf("outbox: decode item: %w", err)
	}
	if it.Schema < 1 || it.Schema > ItemSchema {
		return Item{}, fmt.Errorf("outbox: item schema %d, want 1..%d", it.Schema, ItemSchema)
	}
	if it.MessageID == "" || len(it.To) == 0 || len(it.Data) == 0 {
		return Item{}, errors.New("outbox: item without Message-ID, recipients or data")
	}
	return it, nil
}

// Enqueue publishes a composed message to the outbox. It returns once
// JetStream has stored it (with pub from bus.JetStream.Publisher(true)),
// with the Message-ID.
func Enqueue(pub message.Publisher, from string, to []string, data []byte) (string, error) {
	it, err := NewItem(from, to, data)
	if err != nil {
		return "", err
	}
	return it.MessageID, Publish(pub, it)
}

// Publish publishes an item to the outbox.
func Publish(pub message.Publisher, it Item) error {
	msg, err := it.Message()
	if err != nil {
		return err
	}
	if err := pub.Publish(Topic, msg); err != nil {
		return fmt.Errorf("outbox: enqueue %s: %w", it.MessageID, err)
	}
	return nil
}

// EnqueueMessage composes m and enqueues it to every recipient (To, Cc,
// Bcc).
func EnqueueMessage(pub message.Publisher, c mail.Composer, m *mail.Message) (string, error) {
	data, err := c.Compose(m)
	if err != nil {
		return "", err
	}
	return Enqueue(pub, m.From.Address, m.Recipients(), data)
}
