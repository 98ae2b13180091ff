package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"netstages/sim"
	"netstages/sim/rdt"
)

// simStop sends 1 MiB over Selective Repeat across a simulated link that
// loses 5% of packets each way, checks the SHA-256, and shows the link's
// fault pipeline and the connection's sender and receiver pipelines; then
// httpd serves 1 MiB over the same kind of link to net/http, compared byte
// for byte with the same GETs over transport/mem.
func simStop(ctx context.Context, t *tour) error {
	sc := scenario{Proto: "transfer", Seed: 1, ARQ: rdt.SelectiveRepeat, Window: 32, MSS: 1200, Bytes: 1 << 20,
		Faults: sim.Faults{Latency: 2 * time.Millisecond, Loss: 0.05, MTU: 1500}, MinRTO: 20 * time.Millisecond, Timeout: 45 * time.Second}
	if d, ok := ctx.Deadline(); ok {
		sc.Timeout = min(sc.Timeout, time.Until(d))
	}
	rep := run(sc, false)
	rep.print(t.out)
	for _, g := range rep.graphs {
		switch t.graph {
		case "mermaid":
			fmt.Fprintf(t.out, "pipeline %q (Mermaid):\n%s", g.Name, indent(g.Mermaid()))
		case "dot":
			fmt.Fprintf(t.out, "pipeline %q (DOT):\n%s", g.Name, indent(g.DOT()))
		}
	}
	switch {
	case rep.Error != "":
		return errors.New(rep.Error)
	case !rep.OK:
		return fmt.Errorf("transfer check failed: %s", rep.Check)
	case rep.Links[0].Dropped[sim.DropLoss] == 0 || rep.Client.Retransmits == 0:
		return errors.New("the link lost nothing: the stop proves nothing")
	}

	// The same link for httpd: 1 MiB fetched twice by net/http over
	// Selective Repeat, compared with the same GETs over transport/mem.
	dir, err := os.MkdirTemp("", "netsim-tour-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sc.Proto = "http"
	hrep := httpOverSim(ctx, sc, dir)
	fmt.Fprintf(t.out, "\nhttpd over the same link: %s\n", hrep.Check)
	for _, l := range hrep.Links {
		fmt.Fprintf(t.out, "  %-24s sent %-6d delivered %-6d dropped %v\n", l.Dir, l.Sent, l.Delivered, l.Dropped)
	}
	switch {
	case hrep.Error != "":
		return errors.New(hrep.Error)
	case !hrep.OK:
		return fmt.Errorf("httpd check failed: %s", hrep.Check)
	}
	return nil
}
