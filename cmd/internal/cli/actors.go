package cli

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"netstages/actors"
	"netstages/actors/bus"
)

// The actors every server's main puts in its oklog/run group. Each returns
// an (execute, interrupt) pair for run.Group.Add, so main keeps one
// commented block per actor saying what stops it and in what order.

// ServerActor is srv's accept loop on ln. Its interrupt is srv.Shutdown;
// drained is closed once Serve has returned, i.e. every connection is gone.
func ServerActor(srv *actors.Server, ln net.Listener) (execute func() error, interrupt func(error), drained <-chan struct{}) {
	done := make(chan struct{})
	execute = func() error {
		defer close(done)
		return srv.Serve(ln)
	}
	return execute, func(error) { srv.Shutdown() }, done
}

// HTTPActor serves h on ln (a status listener). Its interrupt waits for
// after, if not nil (e.g. until the main server has drained, so the last
// counts can still be scraped), then closes the HTTP server.
func HTTPActor(ln net.Listener, h http.Handler, after <-chan struct{}) (execute func() error, interrupt func(error)) {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	execute = func() error {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	interrupt = func(error) {
		if after != nil {
			<-after
		}
		hs.Close()
	}
	return execute, interrupt
}

// BusActor runs the event bus. Its interrupt waits for after (the
// publishers have stopped), then closes the bus, which publishes what is
// queued and ends every subscriber.
func BusActor(ctx context.Context, events *bus.Bus, after <-chan struct{}) (execute func() error, interrupt func(error)) {
	execute = func() error { return events.Run(ctx) }
	interrupt = func(error) {
		<-after
		events.Close()
	}
	return execute, interrupt
}
