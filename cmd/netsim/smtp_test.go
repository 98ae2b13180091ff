package main

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"netstages/sim"
	"netstages/sim/rdt"
)

func TestSMTPWithAttachmentOverSimIsByteExactAgainstMem(t *testing.T) {
	is := is.New(t)
	var rep smtpReport
	synctest.Test(t, func(t *testing.T) {
		sc := scenario{Proto: "smtp", Seed: 5, ARQ: rdt.SelectiveRepeat, Window: 32, MSS: 1200, Bytes: 64 << 10, Settle: true,
			Faults: sim.Faults{Latency: 10 * time.Millisecond, Loss: 0.05, Duplicate: 0.02, Reorder: 0.02, Corrupt: 0.02, MTU: 1500}}
		rep = smtpOverSim(context.Background(), sc)
	})
	is.Equal(rep.Error, "")
	is.True(rep.OK)                          // the server got exactly the composed message, over sim and over mem
	is.True(rep.Links[0].DroppedTotal() > 0) // the message crossed a lossy link
	// The per-protocol report: goodput, both ends' retransmissions and RTO
	// histories.
	is.True(rep.Goodput > 0)
	is.Equal(len(rep.Client), 1)               // the laptop's connection
	is.Equal(len(rep.Server), 1)               // and the one mx accepted
	is.True(rep.Client[0].Retransmits > 0)     // the message's lost packets were resent
	is.True(len(rep.Client[0].RTOHistory) > 0) // with the RTO's steps
	is.True(rep.Client[0].BytesSent >= 64<<10) // the whole message (attachment in base64 and more)
	var stdout, stderr bytes.Buffer
	is.Equal(Run([]string{"smtp", "-bytes", "20000", "-latency", "1ms", "-loss", "0.02", "-min-rto", "20ms"}, &stdout, &stderr), 0) // the command, on the wall clock
	is.True(bytes.Contains(stdout.Bytes(), []byte("over transport/mem: true")))
	for _, field := range []string{"goodput", "sent", "dropped", "duplicated", "reordered", "max queue", "retransmits", "RTO history"} {
		is.True(bytes.Contains(stdout.Bytes(), []byte(field))) // every field of the report, in text too
	}
}
