package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"netstages/sim"
	"netstages/sim/rdt"
)

// simStop sends 1 MiB over Selective Repeat across a simulated link that
// loses 5% of packets each way, checks the SHA-256, and shows the link's
// fault pipeline and the connection's sender and receiver pipelines.
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
	return nil
}
