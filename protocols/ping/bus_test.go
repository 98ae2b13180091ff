package ping_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/actors/bus"
	"netstages/protocols/ping"
	"netstages/transport/mem"
)

// TestPacketEventsReachTheBus: the client publishes PacketSent for every
// probe, PacketReceived for every reply and PacketLost for every timeout;
// pingd's seeded drops decide which.
func TestPacketEventsReachTheBus(t *testing.T) {
	forEachMode(t, func(t *testing.T, fused bool) {
		is := is.New(t)
		events := bus.New(bus.Options{})
		msgs, err := events.Subscribe(context.Background(), bus.TopicPacket)
		is.NoErr(err)
		busDone := make(chan error, 1)
		go func() { busDone <- events.Run(context.Background()) }()
		counted := make(chan map[string]int, 1)
		go func() {
			kinds := map[string]int{}
			for msg := range msgs {
				if e, err := bus.Decode(msg); err == nil {
					kinds[e.Kind()]++
				}
				msg.Ack()
			}
			counted <- kinds
		}()

		n := mem.NewNetwork(0)
		_, addr, stop := startServer(t, n, "pingd:12000", ping.ServerConfig{Fused: fused, Loss: 0.3, Seed: 1})
		pc, err := n.ListenPacket(context.Background(), "udp", "client:1")
		is.NoErr(err)
		c, err := ping.NewClient(ping.Unconnected(pc, addr), ping.ClientConfig{Fused: fused, Count: 20, Interval: time.Millisecond, Timeout: 200 * time.Millisecond, Bus: events},
			ping.TextPrinter(&bytes.Buffer{}, true), nil)
		is.NoErr(err)
		is.NoErr(c.Run(context.Background()))
		stop()
		events.Close()
		is.NoErr(<-busDone)
		kinds := <-counted
		lost := int(countTrue(ping.Drops(1, 0.3, 20)))
		is.Equal(kinds["packet.sent"], 20)
		is.Equal(kinds["packet.received"], 20-lost)
		is.Equal(kinds["packet.lost"], lost)
		is.Equal(events.Stats().Dropped, uint64(0))
	})
}
