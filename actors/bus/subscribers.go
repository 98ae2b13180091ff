package bus

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
)

// LogFormat is an access-log line format.
type LogFormat string

// Access-log formats.
const (
	FormatCommon   LogFormat = "common"   // Common Log Format
	FormatCombined LogFormat = "combined" // CLF + Referer and User-Agent
	FormatJSON     LogFormat = "json"     // one RequestDone JSON object per line
)

// ParseLogFormat checks a -log-format flag value.
func ParseLogFormat(s string) (LogFormat, error) {
	switch f := LogFormat(s); f {
	case FormatCommon, FormatCombined, FormatJSON:
		return f, nil
	}
	return "", fmt.Errorf("unknown log format %q (want common, combined or json)", s)
}

// AccessLog is the actor that writes one line per RequestDone event.
type AccessLog struct {
	msgs   <-chan *message.Message
	w      *bufio.Writer
	format LogFormat
}

// NewAccessLog subscribes to request events at once; call Run to write them.
func NewAccessLog(b *Bus, w io.Writer, format LogFormat) (*AccessLog, error) {
	msgs, err := b.Subscribe(context.Background(), TopicRequest)
	if err != nil {
		return nil, err
	}
	return &AccessLog{msgs: msgs, w: bufio.NewWriter(w), format: format}, nil
}

// Run writes lines until the bus closes, flushing whenever no more events are
// waiting.
func (a *AccessLog) Run() error {
	for msg := range a.msgs {
		if err := a.write(msg); err != nil {
			msg.Ack()
			return fmt.Errorf("access log: %w", err)
		}
		msg.Ack()
		if len(a.msgs) == 0 {
			if err := a.w.Flush(); err != nil {
				return fmt.Errorf("access log: %w", err)
			}
		}
	}
	return a.w.Flush()
}

func (a *AccessLog) write(msg *message.Message) error {
	e, err := Decode(msg)
	if err != nil {
		return err
	}
	r, ok := e.(RequestDone)
	if !ok {
		return nil
	}
	switch a.format {
	case FormatCombined:
		_, err = a.w.WriteString(r.CombinedLog() + "\n")
	case FormatJSON:
		var line []byte
		line, err = json.Marshal(r)
		if err == nil {
			_, err = a.w.Write(append(line, '\n'))
		}
	default:
		_, err = a.w.WriteString(r.CommonLog() + "\n")
	}
	return err
}

// ConnCounts is what a ConnCounter has seen.
type ConnCounts struct {
	Active  int64  `json:"active"`
	Opened  uint64 `json:"opened"`
	Closed  uint64 `json:"closed"`
	Refused uint64 `json:"refused"`
}

// ConnCounter is the actor that keeps connection counts from conn events,
// for every server publishing on the bus. Its counts lag the servers' own
// atomic counters by the bus queue, and miss what the bus dropped.
type ConnCounter struct {
	msgs    <-chan *message.Message
	mu      sync.Mutex
	counts  ConnCounts
	onEvent func(ConnCounts)
}

// NewConnCounter subscribes to connection events at once. onChange, if not
// nil, is called from Run after every change (e.g. to print a live count).
func NewConnCounter(b *Bus, onChange func(ConnCounts)) (*ConnCounter, error) {
	msgs, err := b.Subscribe(context.Background(), TopicConn)
	if err != nil {
		return nil, err
	}
	return &ConnCounter{msgs: msgs, onEvent: onChange}, nil
}

// Run counts events until the bus closes.
func (c *ConnCounter) Run() error {
	for msg := range c.msgs {
		e, err := Decode(msg)
		msg.Ack()
		if err != nil {
			continue
		}
		c.mu.Lock()
		switch e.(type) {
		case ConnOpened:
			c.counts.Opened++
			c.counts.Active++
		case ConnClosed:
			c.counts.Closed++
			c.counts.Active--
		case ConnRefused:
			c.counts.Refused++
		}
		counts := c.counts
		c.mu.Unlock()
		if c.onEvent != nil {
			c.onEvent(counts)
		}
	}
	return nil
}

// Counts returns the counts so far.
func (c *ConnCounter) Counts() ConnCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts
}
