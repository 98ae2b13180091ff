package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// Schema is the version of the event envelope on the wire. A consumer
// refuses envelopes with a newer major schema than it knows.
const Schema = 1

// Metadata keys set on every bus message (NATS headers on JetStream).
const (
	MetaKind     = "kind"
	MetaInstance = "instance"
	MetaSchema   = "schema"
)

// envelope is an event on the wire: which instance published it, in which
// schema, and the event itself, as one JSON object:
//
//	{"schema":1,"instance":"web-1","kind":"request.done","event":{...}}
type envelope struct {
	Schema   int    `json:"schema"`
	Instance string `json:"instance"`
	Kind     string `json:"kind"`
	Event    any    `json:"event"`
}

// wireIn is an envelope being decoded: the event stays raw until the kind
// is known.
type wireIn struct {
	Schema   int             `json:"schema"`
	Instance string          `json:"instance"`
	Kind     string          `json:"kind"`
	Event    json.RawMessage `json:"event"`
}

// Stamped is an event with the instance that published it and the schema
// it was encoded in.
type Stamped struct {
	Instance string
	Schema   int
	Event    Event
}

// encode builds the message for e, stamped with instance.
func encode(instance string, e Event, uuid string) (*message.Message, error) {
	payload, err := json.Marshal(envelope{Schema: Schema, Instance: instance, Kind: e.Kind(), Event: e})
	if err != nil {
		return nil, err
	}
	msg := message.NewMessage(uuid, payload)
	msg.Metadata.Set(MetaKind, e.Kind())
	msg.Metadata.Set(MetaInstance, instance)
	msg.Metadata.Set(MetaSchema, fmt.Sprint(Schema))
	return msg, nil
}

// DecodeStamped returns the event a message carries with its instance and
// schema.
func DecodeStamped(msg *message.Message) (Stamped, error) {
	var w wireIn
	if err := json.Unmarshal(msg.Payload, &w); err != nil {
		return Stamped{}, fmt.Errorf("bus: decode envelope: %w", err)
	}
	if w.Schema < 1 || w.Schema > Schema {
		return Stamped{}, fmt.Errorf("bus: envelope schema %d, want 1..%d", w.Schema, Schema)
	}
	e, err := decodeEvent(w.Kind, w.Event)
	if err != nil {
		return Stamped{}, err
	}
	return Stamped{Instance: w.Instance, Schema: w.Schema, Event: e}, nil
}

// Decode returns the event a message carries.
func Decode(msg *message.Message) (Event, error) {
	s, err := DecodeStamped(msg)
	return s.Event, err
}

// quietLogger drops watermill's Trace and Debug calls before their fields
// are turned into slog attributes (a measurable cost per message) unless the
// logger would print them.
type quietLogger struct {
	watermill.LoggerAdapter
	debug bool
}

// newLogger adapts log for watermill, one level quieter (see quieter).
func newLogger(log *slog.Logger, component string) watermill.LoggerAdapter {
	return quietLogger{
		LoggerAdapter: watermill.NewSlogLoggerWithLevelMapping(log.With("component", component), quieter()),
		debug:         log.Enabled(context.Background(), watermill.LevelTrace),
	}
}

func (q quietLogger) Debug(msg string, fields watermill.LogFields) {
	if q.debug {
		q.LoggerAdapter.Debug(msg, fields)
	}
}

func (q quietLogger) Trace(msg string, fields watermill.LogFields) {
	if q.debug {
		q.LoggerAdapter.Trace(msg, fields)
	}
}

func (q quietLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return quietLogger{LoggerAdapter: q.LoggerAdapter.With(fields), debug: q.debug}
}
