package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	netmail "net/mail"
	"time"

	"netstages/cmd/internal/cli"
	"netstages/protocols/mail"
	"netstages/protocols/smtp"
	"netstages/protocols/smtp/smtptest"
	"netstages/sim"
	"netstages/sim/rdt"
	"netstages/transport"
)

// smtpReport is what `netsim smtp` found.
type smtpReport struct {
	Scenario   scenario       `json:"scenario"`
	OK         bool           `json:"ok"`
	Check      string         `json:"check"`
	Completion time.Duration  `json:"completion"`
	Goodput    float64        `json:"goodput_bps"` // message bits per second, laptop to mx
	Links      []sim.DirStats `json:"links"`
	Client     []rdt.Stats    `json:"client_conns"`
	Server     []rdt.Stats    `json:"server_conns"`
	Error      string         `json:"error,omitempty"`
	records    []sim.Record   // with sc.Keep
	start      time.Time      // the network's start, for pcap timestamps
}

// deliverMail sends msg with the smtp client (unchanged) from dialNet to a
// go-smtp server listening on listenNet at mx:25 and returns what the
// server received and how long the client took, from dial to QUIT (the
// server's shutdown afterwards is not counted).
func deliverMail(ctx context.Context, listenNet, dialNet transport.Network, msg []byte) (got []smtptest.Received, took time.Duration, err error) {
	ln, err := listenNet.Listen(ctx, "tcp", "mx:25")
	if err != nil {
		return nil, 0, err
	}
	b := &smtptest.Backend{}
	stop := smtptest.Start(ln, b, smtptest.Options{})
	defer stop()
	start := time.Now()
	c, err := smtp.Dial(ctx, dialNet, "mx:25", smtp.Config{})
	if err != nil {
		return nil, time.Since(start), err
	}
	if _, err := c.Send(ctx, "alice@example.com", []string{"bob@example.com"}, msg); err != nil {
		c.Close()
		return nil, time.Since(start), err
	}
	err = c.Close()
	return b.Messages(), time.Since(start), err
}

// composeWithAttachment builds a message with a seeded attachment of size bytes.
func composeWithAttachment(size int, seed uint64) ([]byte, error) {
	att := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, 2))
	for i := range att {
		att[i] = byte(r.Uint32())
	}
	// The boundary comes from the seed too, so one seed gives the same
	// bytes on the wire in every run.
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	return mail.Composer{Rand: rand.NewChaCha8(key)}.Compose(&mail.Message{
		From: netmail.Address{Name: "Alice", Address: "alice@example.com"}, To: []netmail.Address{{Address: "bob@example.com"}},
		Subject: "figures, over a simulated link", Date: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), MessageID: "netsim@example.com",
		Text: "The figures are attached.\n", Attachments: []mail.Attachment{{Filename: "figures.bin", Data: att}},
	})
}

// smtpOverSim sends a message with an attachment from host "laptop" to a
// go-smtp server on host "mx" over sim/rdt, and the same over
// transport/mem; the server must receive the same bytes both times.
func smtpOverSim(ctx context.Context, sc scenario) smtpReport {
	rep := smtpReport{Scenario: sc}
	msg, err := composeWithAttachment(sc.Bytes, sc.Seed)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	nw := sim.New(sim.Config{Seed: sc.Seed, Settle: sc.Settle, Trace: sc.Keep, KeepPayloads: sc.Keep})
	rep.start = nw.Start()
	defer nw.Close()
	link, err := nw.Connect("laptop", "mx", sc.Faults, sc.Faults)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	cfg := rdt.Config{ARQ: sc.ARQ, Window: sc.Window, MSS: sc.MSS, MinRTO: sc.MinRTO, Settle: sc.Settle}
	laptop, err := rdt.New(nw.Host("laptop"), cfg)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	mx, _ := rdt.New(nw.Host("mx"), cfg)
	dialer, listener := &connRecorder{Network: laptop}, &connRecorder{Network: mx}
	overSim, took, err := deliverMail(ctx, listener, dialer, msg)
	rep.Completion = took
	if err != nil {
		rep.Error = err.Error()
	}
	endStacks(ctx, nw, linger, laptop, mx)
	for _, c := range dialer.conns {
		rep.Client = append(rep.Client, c.Stats())
	}
	for _, c := range listener.conns {
		rep.Server = append(rep.Server, c.Stats())
	}
	rep.Links = []sim.DirStats{link.Stats("laptop"), link.Stats("mx")}
	if sc.Keep {
		rep.records = append(link.Records("laptop"), link.Records("mx")...)
	}
	n := memNetwork()
	overMem, _, err := deliverMail(ctx, n, n, msg)
	if err != nil && rep.Error == "" {
		rep.Error = "over mem: " + err.Error()
	}
	same := len(overSim) == 1 && len(overMem) == 1 && bytes.Equal(overSim[0].Data, msg) && bytes.Equal(overMem[0].Data, msg)
	rep.OK = rep.Error == "" && same
	if rep.OK { // a run that failed delivered nothing it can be credited for
		rep.Goodput = float64(len(msg)*8) / rep.Completion.Seconds()
	}
	rep.Check = fmt.Sprintf("a %d-byte message (%d-byte attachment) received byte for byte over sim/rdt %s and over transport/mem: %v",
		len(msg), sc.Bytes, sc.ARQ, same)
	return rep
}

func runSMTP(args []string, stdout, stderr io.Writer) int {
	cmd := cli.New("netsim smtp", "[link flags] [-arq saw|gbn|sr|perfect] [-window N] [-bytes N] [-seed N] [-json] [-trace FILE.mmd] [-pcap FILE.pcap] [-scenario FILE.toml]",
		"Composes an email with an attachment of -bytes random bytes and sends it with the smtp\nclient (protocols/smtp, unchanged) from host \"laptop\" to a go-smtp server on host \"mx\"\nover a reliable stream (sim/rdt) across one simulated link with the faults given (both\nways); checks the server received exactly the message, as over transport/mem.", stderr)
	fl := addStreamFlags(cmd.Flags, 256<<10, "size of the attachment", "seed of every fault's PRNG and of the attachment's bytes")
	out := addOutputFlags(cmd.Flags)
	if code, done := cmd.Parse(args); done {
		return code
	}
	if cmd.Flags.NArg() > 0 {
		return cmd.Usagef("unexpected argument %q", cmd.Flags.Arg(0))
	}
	sc, err := out.load(cmd.Flags, fl, "smtp", 1200)
	if err != nil {
		return cmd.Usagef("%v", err)
	}
	if sc.Bytes < 0 || sc.Bytes > 64<<20 {
		return cmd.Usagef("-bytes must be between 0 and 64 MiB")
	}
	ctx, cancel := context.WithTimeout(context.Background(), sc.Timeout)
	defer cancel()
	sc.Keep = out.keep()
	rep := smtpOverSim(ctx, sc)
	rep.Error = gaveUp(ctx, sc.Timeout, rep.Error)
	if err := out.write(rep.start, rep.records); err != nil {
		return cmd.Failf("%v", err)
	}
	if *fl.asJSON {
		writeJSON(stdout, rep)
	} else {
		fmt.Fprintf(stdout, "netsim smtp: laptop → mx over %s, seed %d\nlink faults (each way): %s\ncompletion %v, goodput %.3f Mbit/s\n",
			sc.ARQ, sc.Seed, describe(sc.Faults), rep.Completion.Round(time.Millisecond), rep.Goodput/1e6)
		printLinks(stdout, rep.Links)
		printConns(stdout, append(rep.Client, rep.Server...))
		if rep.Error != "" {
			fmt.Fprintf(stdout, "error: %s\n", rep.Error)
		}
		fmt.Fprintf(stdout, "check: %s\n", rep.Check)
	}
	return exitCode(rep.OK)
}
