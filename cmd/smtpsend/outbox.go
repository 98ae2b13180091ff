package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/oklog/run"

	"netstages/actors"
	"netstages/actors/bus"
	"netstages/actors/bus/embedded"
	"netstages/actors/graphview"
	"netstages/cmd/internal/cli"
	"netstages/protocols/smtp"
	"netstages/protocols/smtp/outbox"
)

// outboxOptions are the outbox flags (issue 10): -enqueue stores the
// composed message in the outbox instead of sending it; -outbox-worker
// delivers the outbox to -server.
type outboxOptions struct {
	enqueue, worker, untilEmpty bool
	busURL, stateDir, instance  string
	statusAddr                  string
	natsPort, maxInFlight       int
	ackWait                     time.Duration
}

// addOutboxFlags adds the outbox flags to f.
func addOutboxFlags(f *flag.FlagSet) *outboxOptions {
	ob := &outboxOptions{}
	f.BoolVar(&ob.enqueue, "enqueue", false, "store the composed message in the outbox (NATS JetStream) instead of sending it; needs -bus or -state-dir")
	f.BoolVar(&ob.worker, "outbox-worker", false, "deliver the outbox to -server until SIGINT/SIGTERM (retries 4xx with backoff, dead-letters 5xx); needs -bus or -state-dir")
	f.BoolVar(&ob.untilEmpty, "until-empty", false, "with -outbox-worker: exit once the outbox has nothing left to deliver")
	f.StringVar(&ob.busURL, "bus", "", "with -enqueue or -outbox-worker: NATS JetStream server of the outbox and events (nats://HOST:PORT);\n"+
		"otherwise mem (the default: no events leave the process) or nats://HOST:PORT to publish the send's result (a mail.done event) for cmd/collector")
	f.StringVar(&ob.stateDir, "state-dir", "", "run an embedded NATS JetStream server with its files in this directory (when -bus is not given)")
	f.IntVar(&ob.natsPort, "nats-port", 0, "with -state-dir: the embedded server's port on 127.0.0.1 (0: any free port, printed)")
	f.StringVar(&ob.instance, "instance", "", "this worker's name in the ledger and events (default host-pid)")
	f.StringVar(&ob.statusAddr, "status-addr", "", "with -outbox-worker: serve the live stage view of its SMTP sessions on this address at /debug/stages (HTML, ?format=json)")
	f.DurationVar(&ob.ackWait, "ack-wait", 2*time.Minute, "with -outbox-worker: how long a message may take before another worker gets it")
	f.IntVar(&ob.maxInFlight, "max-in-flight", 1000, "with -outbox-worker: most messages being delivered at once over all the workers sharing the outbox\n(each worker delivers one at a time: this caps how many are busy)")
	return ob
}

// active says whether an outbox mode was asked for.
func (ob *outboxOptions) active() bool { return ob.enqueue || ob.worker }

// prepare runs before smtpsend's own checks: -enqueue needs no -server,
// -outbox-worker no message.
func (ob *outboxOptions) prepare(o *options) error {
	switch {
	case ob.enqueue && ob.worker:
		return errors.New("-enqueue and -outbox-worker are two different runs")
	case ob.active() && (ob.busURL == "") == (ob.stateDir == ""):
		return errors.New("-enqueue and -outbox-worker need exactly one of -bus nats://HOST:PORT and -state-dir DIR")
	case !ob.active() && (ob.stateDir != "" || ob.untilEmpty):
		return errors.New("-state-dir and -until-empty go with -enqueue or -outbox-worker")
	case !ob.active() && ob.busURL != "" && ob.busURL != bus.BackendMem && cli.CheckNATS(ob.busURL, "") != nil:
		return fmt.Errorf("-bus %q: want mem or nats://HOST:PORT", ob.busURL)
	case ob.worker && o.server == "":
		return errors.New("-outbox-worker needs -server")
	case ob.ackWait < time.Second:
		return errors.New("-ack-wait must be at least 1s")
	case ob.maxInFlight < 1:
		return errors.New("-max-in-flight must be at least 1")
	case ob.statusAddr != "" && !ob.worker:
		return errors.New("-status-addr goes with -outbox-worker")
	}
	if ob.active() && ob.busURL != "" {
		if err := cli.CheckNATS(ob.busURL, "the outbox lives in NATS JetStream: give -bus nats://HOST:PORT, or -state-dir DIR for an embedded server"); err != nil {
			return err
		}
	}
	if ob.statusAddr != "" {
		if err := cli.ListenAddr(ob.statusAddr); err != nil {
			return fmt.Errorf("-status-addr: %w", err)
		}
	}
	if ob.enqueue && o.server == "" {
		o.server = "outbox:25" // a placeholder: delivery is the worker's business
	}
	return nil
}

// connect returns the JetStream connection and a func that closes it (and
// the embedded server).
func (ob *outboxOptions) connect(cmd *cli.Command, stderr io.Writer) (*bus.JetStream, string, func(), error) {
	url, stop := ob.busURL, func() {}
	if ob.stateDir != "" {
		srv, err := embedded.Start(embedded.Config{Dir: ob.stateDir, Port: ob.natsPort})
		if err != nil {
			return nil, "", nil, err
		}
		url, stop = srv.URL(), srv.Shutdown
		fmt.Fprintf(stderr, "smtpsend: embedded NATS JetStream on %s (state in %s)\n", url, ob.stateDir)
	}
	js, err := bus.DialJetStream(url, cmd.Logger())
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	return js, url, func() { js.Close(); stop() }, nil
}

// enqueueRaw stores a composed message in the outbox.
func (ob *outboxOptions) enqueueRaw(cmd *cli.Command, from string, to []string, raw []byte, stdout, stderr io.Writer) int {
	js, _, closeJS, err := ob.connect(cmd, stderr)
	if err != nil {
		return cmd.Failf("%v", err)
	}
	defer closeJS()
	if err := js.EnsureStream(outbox.Stream()); err != nil {
		return cmd.Failf("%v", err)
	}
	pub, err := js.Publisher(true)
	if err != nil {
		return cmd.Failf("%v", err)
	}
	defer pub.Close()
	id, err := outbox.Enqueue(pub, from, to, raw)
	if err != nil {
		return cmd.Failf("%v", err)
	}
	fmt.Fprintf(stdout, "smtpsend: enqueued <%s> for %s\n", id, recipients(len(to)))
	return cli.ExitOK
}

// runWorker delivers the outbox until a signal (or, with -until-empty,
// until nothing is left).
func (ob *outboxOptions) runWorker(cmd *cli.Command, o *options, stdout, stderr io.Writer) int {
	cfg, err := o.config(cmd.Verbose, stderr)
	if err != nil {
		return failOrUsage(cmd, err)
	}
	cfg.Meter = actors.NewMeter() // every session's stages, for -status-addr
	var statusLn net.Listener
	if ob.statusAddr != "" {
		if statusLn, err = net.Listen("tcp", ob.statusAddr); err != nil {
			return cmd.Failf("-status-addr: %v", err)
		}
		defer statusLn.Close()
	}
	js, url, closeJS, err := ob.connect(cmd, stderr)
	if err != nil {
		return cmd.Failf("%v", err)
	}
	defer closeJS()
	log := cmd.Logger()
	events, err := bus.Open(url, bus.Options{Logger: log, Instance: ob.instance})
	if err != nil {
		return cmd.Failf("%v", err)
	}
	w, err := outbox.NewWorker(outbox.Config{JetStream: js, Server: o.server, SMTP: cfg, Name: ob.instance,
		AckWait: ob.ackWait, MaxInFlight: ob.maxInFlight, Events: events, Log: log})
	if err != nil {
		return cmd.Failf("%v", err)
	}
	fmt.Fprintf(stderr, "smtpsend: outbox worker delivering to %s\n", o.server)
	if statusLn != nil {
		fmt.Fprintf(stderr, "smtpsend: live stages on http://%s/debug/stages\n", statusLn.Addr())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var g run.Group
	// Signals: SIGINT or SIGTERM ends the group.
	g.Add(run.SignalHandler(ctx, os.Interrupt, syscall.SIGTERM))
	// Worker: the watermill Router; cancelling lets the message in hand
	// finish, then closes the router.
	workerCtx, stopWorker := context.WithCancel(ctx)
	worked := make(chan struct{})
	g.Add(func() error { defer close(worked); return w.Run(workerCtx) }, func(error) { stopWorker() })
	// Events: MailDone per outcome; closed after the worker has stopped.
	g.Add(func() error { return events.Run(ctx) }, func(error) { <-worked; events.Close() })
	// Status listener (-status-addr): the live stage view of the worker's
	// SMTP sessions (one pipeline per delivery). Closed once the worker has
	// stopped, so the last counts can still be read; it only reads the meter.
	if statusLn != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /debug/stages", graphview.Handler(graphview.View{Title: "smtpsend outbox worker: SMTP sessions",
			Meter: cfg.Meter, Graph: smtp.Graph()}))
		g.Add(cli.HTTPActor(statusLn, mux, worked))
	}
	// -until-empty: ends the group once the outbox has nothing left. Its
	// interrupt stops only its own poll: cancelling ctx would cut the event
	// bus off before it forwards the last deliveries' events.
	if ob.untilEmpty {
		pollCtx, stopPoll := context.WithCancel(ctx)
		g.Add(func() error { return untilEmpty(pollCtx, w) }, func(error) { stopPoll() })
	}
	err = g.Run()
	st := w.Stats()
	fmt.Fprintf(stdout, "smtpsend: outbox worker stopped; %d sent, %d duplicates skipped, %d temporary failures, %d dead-lettered\n",
		st.Sent, st.Duplicates, st.Temporary, st.Dead)
	if err != nil && !errors.As(err, &run.SignalError{}) && !errors.Is(err, errEmpty) {
		return cmd.Failf("%v", err)
	}
	return cli.ExitOK
}

// errEmpty ends the group when -until-empty sees an empty outbox.
var errEmpty = errors.New("outbox empty")

func untilEmpty(ctx context.Context, w *outbox.Worker) error {
	<-w.Running()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if idle, err := w.Idle(); err == nil && idle {
				return errEmpty
			}
		}
	}
}

// publishResult publishes a direct send's outcome as a MailDone event when
// -bus names a NATS server ("sent", or "failed" with the server's reply),
// so a collector counts mail sent without the outbox too. It waits until the
// event has been forwarded (or dropped and logged).
func (ob *outboxOptions) publishResult(log *slog.Logger, raw []byte, res *smtp.Result, sendErr error) error {
	if ob.busURL == "" || ob.busURL == bus.BackendMem {
		return nil
	}
	events, err := bus.Open(ob.busURL, bus.Options{Logger: log, Instance: ob.instance})
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- events.Run(context.Background()) }()
	id, _ := outbox.MessageID(raw)
	e := bus.MailDone{Worker: ob.instance, MessageID: id, Outcome: "sent", At: time.Now().UTC()}
	var serr *smtp.Error
	switch {
	case sendErr != nil && errors.As(sendErr, &serr):
		e.Outcome, e.Code, e.Reply = "failed", serr.Code, serr.Message
	case sendErr != nil:
		e.Outcome, e.Reply = "failed", sendErr.Error()
	case len(res.Rejected) > 0:
		r := res.Rejected[0].Err
		e.Outcome, e.Code, e.Reply = "failed", r.Code, r.Message
	}
	events.Publish(e)
	events.Close()
	return <-done
}
