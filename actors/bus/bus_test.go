package bus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/actors/bus"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func request(status int, target string) bus.RequestDone {
	return bus.RequestDone{
		Server: "httpd", RemoteHost: "127.0.0.1", Time: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		Method: "GET", Target: target, Proto: "HTTP/1.1", Status: status, Bytes: 1024,
		Referer: "http://example.org/", UserAgent: `curl/8 "quoted"`,
	}
}

func TestCommonAndCombinedLog(t *testing.T) {
	is := is.New(t)
	r := request(200, "/index.html")
	is.Equal(r.CommonLog(), `127.0.0.1 - - [25/Nov/2026:10:00:00 +0000] "GET /index.html HTTP/1.1" 200 1024`)
	is.Equal(r.CombinedLog(), r.CommonLog()+` "http://example.org/" "curl/8 \x22quoted\x22"`) // quotes escaped as nginx does
	r.Bytes = 0
	r.Target = "/a\"b\n"
	is.Equal(r.CommonLog(), `127.0.0.1 - - [25/Nov/2026:10:00:00 +0000] "GET /a\x22b\x0A HTTP/1.1" 200 -`) // no forged lines
}

func TestAccessLogWritesEveryEventInOrder(t *testing.T) {
	is := is.New(t)
	b := bus.New(bus.Options{})
	var out bytes.Buffer
	logw, err := bus.NewAccessLog(b, &out, bus.FormatJSON)
	is.NoErr(err) // subscribe
	done := make(chan error, 2)
	go func() { done <- b.Run(context.Background()) }()
	go func() { done <- logw.Run() }()
	for i := range 100 {
		is.True(b.Publish(request(200+i, "/"))) // queued
	}
	b.Publish(bus.ConnOpened{Server: "x"}) // another topic: not logged
	b.Close()
	is.NoErr(<-done)
	is.NoErr(<-done)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	is.Equal(len(lines), 100) // every request, nothing else
	var last bus.RequestDone
	is.NoErr(json.Unmarshal([]byte(lines[99]), &last))
	is.Equal(last.Status, 299) // in order
	is.Equal(b.Stats(), bus.Stats{Published: 101, Dropped: 0})
}

func TestPublishNeverBlocksAndCountsDrops(t *testing.T) {
	is := is.New(t)
	b := bus.New(bus.Options{Queue: 4}) // not running: nothing drains the queue
	for range 10 {
		b.Publish(request(200, "/"))
	}
	is.Equal(b.Stats().Dropped, uint64(6)) // 4 queued, 6 dropped and counted
	b.Close()
	is.NoErr(b.Run(context.Background())) // publishes the 4, then stops
	is.Equal(b.Stats().Published, uint64(4))
	is.True(!b.Publish(request(200, "/"))) // after Close: refused
	is.Equal(b.Stats().Dropped, uint64(7))
}

func TestDecodeRoundTrip(t *testing.T) {
	is := is.New(t)
	b := bus.New(bus.Options{})
	msgs, err := b.Subscribe(context.Background(), bus.TopicPacket)
	is.NoErr(err)
	go b.Run(context.Background())
	sent := bus.PacketReceived{Probe: "p", Target: "t", Seq: 7, RTT: 1500 * time.Microsecond}
	b.Publish(sent)
	msg := <-msgs
	msg.Ack()
	e, err := bus.Decode(msg)
	is.NoErr(err)
	is.Equal(e, sent) // the same event comes out
	b.Close()
	for range msgs {
	}
}

func TestParseLogFormat(t *testing.T) {
	is := is.New(t)
	f, err := bus.ParseLogFormat("combined")
	is.NoErr(err)
	is.Equal(f, bus.FormatCombined)
	_, err = bus.ParseLogFormat("apache")
	is.True(err != nil) // unknown format refused
}
