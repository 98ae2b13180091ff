package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"netstages/actors"
	"netstages/protocols/ping"
	"netstages/sim"
)

// pingStop pings pingd 20 times through 20% loss. Over lossy sim links the
// laptop–pingd link loses 20% each way and pingd none: every probe must be
// answered or lost on the link, as its counters say. Over transport/mem (or
// lossless links) pingd -loss 0.2 -seed 1 drops them: the requests lost must
// be exactly the ones its seeded PRNG drops, every other one answered.
func pingStop(ctx context.Context, t *tour) error {
	const (
		count = 20
		seed  = 1
	)
	loss := 0.2
	if w, ok := t.net.(*world); ok && w.faults.Loss > 0 {
		w.setLink("laptop", "pingd", sim.Faults{Latency: w.faults.Latency, Loss: 0.2})
		loss = 0
		fmt.Fprintf(t.out, "the laptop–pingd link loses 20%% of packets each way (seed %d): a probe and its echo both cross it, so about 1-0.8² = 36%% of probes are lost on average\n", seed)
	}
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
	fmt.Fprintf(t.out, "pingd serves UDP ping on %s %s (-loss %g -seed %d)\n", spc.LocalAddr().Network(), spc.LocalAddr(), loss, seed)

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

	if err := stopServer(); err != nil {
		return err
	}
	t.showPipeline(srvMeter)
	t.showPipeline(cliMeter)
	if toServer, toClient, lossy := t.linkDrops("laptop", "pingd"); lossy {
		return checkPingOverLossyLinks(t, sum, srv.Counts(), toServer, toClient)
	}
	return checkPingDrops(t, sum, srv.Counts(), seed, loss, count)
}

// checkPingDrops: over a lossless network, the requests lost must be exactly
// the ones pingd's seeded PRNG drops.
func checkPingDrops(t *tour, sum ping.Summary, c ping.ServerCounts, seed uint64, loss float64, count int) error {
	var want []int
	for i, dropped := range ping.Drops(seed, loss, count) {
		if dropped {
			want = append(want, i+1)
		}
	}
	fmt.Fprintf(t.out, "pingd's PRNG (seed %d) drops requests %v; ping saw %d lost, %d received\n", seed, want, sum.Lost, sum.Received)
	switch {
	case sum.Transmitted != uint64(count) || sum.Lost != uint64(len(want)) || sum.Received != uint64(count-len(want)):
		return fmt.Errorf("ping: %d sent, %d received, %d lost; want %d, %d, %d", sum.Transmitted, sum.Received, sum.Lost, count, count-len(want), len(want))
	case c.Dropped != uint64(len(want)) || c.Echoed != sum.Received:
		return fmt.Errorf("pingd: dropped %d, echoed %d; want %d, %d", c.Dropped, c.Echoed, len(want), sum.Received)
	case sum.Duplicates+sum.Late+sum.Unmatched+sum.Malformed+sum.Reordered != 0:
		return fmt.Errorf("ping: unexpected duplicates, late, unmatched, malformed or reordered replies: %+v", sum)
	}
	return nil
}

// checkPingOverLossyLinks: over lossy simulated links every probe must be
// accounted for: each one sent is answered, or dropped by pingd's PRNG, or
// lost on the link one way or the other, as the link's own counters say.
func checkPingOverLossyLinks(t *tour, sum ping.Summary, c ping.ServerCounts, toServer, toClient uint64) error {
	fmt.Fprintf(t.out, "ping saw %d lost of %d: pingd dropped %d, the link lost %d requests and %d echoes\n",
		sum.Lost, sum.Transmitted, c.Dropped, toServer, toClient)
	switch {
	case c.Received != sum.Transmitted-toServer:
		return fmt.Errorf("pingd received %d; %d sent minus %d lost on the link is %d", c.Received, sum.Transmitted, toServer, sum.Transmitted-toServer)
	case c.Echoed != c.Received-c.Dropped:
		return fmt.Errorf("pingd echoed %d of %d received with %d dropped", c.Echoed, c.Received, c.Dropped)
	case sum.Received+sum.Late != c.Echoed-toClient:
		return fmt.Errorf("ping: %d received (+%d late); pingd echoed %d and the link lost %d", sum.Received, sum.Late, c.Echoed, toClient)
	case sum.Duplicates+sum.Unmatched+sum.Malformed != 0:
		return fmt.Errorf("ping: unexpected duplicates, unmatched or malformed replies: %+v", sum)
	}
	return nil
}
