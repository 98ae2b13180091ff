package cli

import (
	"fmt"
	"log/slog"
	"strings"

	"netstages/actors/bus"
)

// BusFlags are -bus and -instance, shared by every binary that publishes
// events.
type BusFlags struct {
	URL      *string
	Instance *string
}

// BusFlags adds -bus and -instance to the command's flags.
func (c *Command) BusFlags() BusFlags {
	return BusFlags{
		URL: c.Flags.String("bus", bus.BackendMem,
			"event bus: mem (in the process) or nats://HOST:PORT (also forward every event to that NATS JetStream server, for cmd/collector)"),
		Instance: c.Flags.String("instance", "", "this instance's name in forwarded events (default the host name)"),
	}
}

// Check validates -bus before anything starts.
func (f BusFlags) Check() error {
	u := *f.URL
	if u == bus.BackendMem || strings.HasPrefix(u, "nats://") || strings.HasPrefix(u, "tls://") {
		return nil
	}
	return fmt.Errorf("-bus %q: want mem or nats://HOST:PORT", u)
}

// Open opens the bus the flags name, with log.
func (f BusFlags) Open(log *slog.Logger) (*bus.Bus, error) {
	return bus.Open(*f.URL, bus.Options{Logger: log, Instance: *f.Instance})
}

// CheckNATS validates a -bus flag that must name a NATS server (the
// collector, the SMTP outbox): those need JetStream, shared between
// processes, so the in-process "mem" bus cannot stand in; want says what to
// give instead.
func CheckNATS(u, want string) error {
	switch {
	case strings.HasPrefix(u, "nats://") || strings.HasPrefix(u, "tls://"):
		return nil
	case u == bus.BackendMem:
		return fmt.Errorf("-bus mem: the in-process bus is not shared with other processes; %s", want)
	}
	return fmt.Errorf("-bus %q: %s", u, want)
}
