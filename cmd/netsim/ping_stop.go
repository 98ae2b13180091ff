package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"netstages/actors"
	"netstages/protocols/ping"
)

// pingStop serves pingd -loss 0.3 -seed 1 on the mem network's datagrams
// and pings it 20 times: the requests lost must be exactly the ones pingd's
// seeded PRNG drops, every other one answered, upper-cased.
func pingStop(ctx context.Context, t *tour) error {
	const (
		count = 20
		seed  = 1
		loss  = 0.3
	)
	spc, err := t.net.ListenPacket(ctx, "udp", "pingd:12000")
	if err != nil {
		return err
	}
	srvMeter := actors.NewMeter()
	srv, err := ping.NewServer(spc, ping.ServerConfig{Loss: loss, Seed: seed, Bus: t.events}, srvMeter)
	if err != nil {
		spc.Close()
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Run(ctx) }()
	var stopOnce sync.Once
	var srvErr error
	stopServer := func() error {
		stopOnce.Do(func() { srv.Stop(); srvErr = <-served })
		return srvErr
	}
	defer stopServer()
	fmt.Fprintf(t.out, "pingd serves UDP ping on mem %s (-loss %g -seed %d)\n", spc.LocalAddr(), loss, seed)

	cpc, err := t.net.ListenPacket(ctx, "udp", "laptop:40000")
	if err != nil {
		return err
	}
	cliMeter := actors.NewMeter()
	client, err := ping.NewClient(ping.Unconnected(cpc, spc.LocalAddr()),
		ping.ClientConfig{Count: count, Interval: 5 * time.Millisecond, Timeout: 500 * time.Millisecond, Bus: t.events},
		ping.TextPrinter(t.out, false), cliMeter)
	if err != nil {
		cpc.Close()
		return err
	}
	fmt.Fprintf(t.out, "ping -c %d -i 5ms -W 500ms %s (from %s)\n", count, spc.LocalAddr(), cpc.LocalAddr())
	if err := client.Run(ctx); err != nil {
		return err
	}
	sum := client.Summary()
	ping.WriteSummary(t.out, sum)

	var want []int
	for i, dropped := range ping.Drops(seed, loss, count) {
		if dropped {
			want = append(want, i+1)
		}
	}
	fmt.Fprintf(t.out, "pingd's PRNG (seed %d) drops requests %v; ping saw %d lost, %d received\n", seed, want, sum.Lost, sum.Received)
	if err := stopServer(); err != nil {
		return err
	}
	t.showPipeline(srvMeter)
	t.showPipeline(cliMeter)
	switch c := srv.Counts(); {
	case sum.Transmitted != count || sum.Lost != uint64(len(want)) || sum.Received != count-uint64(len(want)):
		return fmt.Errorf("ping: %d sent, %d received, %d lost; want %d, %d, %d", sum.Transmitted, sum.Received, sum.Lost, count, count-len(want), len(want))
	case c.Dropped != uint64(len(want)) || c.Echoed != sum.Received:
		return fmt.Errorf("pingd: dropped %d, echoed %d; want %d, %d", c.Dropped, c.Echoed, len(want), sum.Received)
	case sum.Duplicates+sum.Late+sum.Unmatched+sum.Malformed+sum.Reordered != 0:
		return fmt.Errorf("ping: unexpected duplicates, late, unmatched, malformed or reordered replies: %+v", sum)
	case !slices.IsSorted(want):
		return fmt.Errorf("drops out of order")
	}
	return nil
}
