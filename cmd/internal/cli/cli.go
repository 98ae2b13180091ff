// Package cli holds the conventions every netstages command follows: -h
// prints usage and exits 0, a bad flag prints usage and exits 2, -version
// prints the version, -v turns on debug logs (log/slog, to stderr), and
// default listen addresses are on 127.0.0.1.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
)

// Exit codes.
const (
	ExitOK    = 0 // success
	ExitFail  = 1 // the command ran and failed
	ExitUsage = 2 // bad flags or arguments
)

// Command is a parsed command line.
type Command struct {
	// Flags holds the command's own flags; add them before Parse.
	Flags *flag.FlagSet
	// Verbose is -v.
	Verbose bool
	name    string
	stderr  io.Writer
	version bool
}

// New starts a command's flag set. synopsis is the usage line after the
// name, e.g. "[-addr HOST:PORT]"; about is one sentence on what it does.
func New(name, synopsis, about string, stderr io.Writer) *Command {
	c := &Command{Flags: flag.NewFlagSet(name, flag.ContinueOnError), name: name, stderr: stderr}
	c.Flags.SetOutput(stderr)
	c.Flags.BoolVar(&c.Verbose, "v", false, "verbose: debug logs on stderr")
	c.Flags.BoolVar(&c.version, "version", false, "print the version and exit")
	c.Flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s %s\n\n%s\n\nflags:\n", name, synopsis, about)
		c.Flags.PrintDefaults()
	}
	return c
}

// Parse parses args. done is true when the command should exit now with
// code: after -h (0), -version (0) or a bad flag (2, usage printed).
func (c *Command) Parse(args []string) (code int, done bool) {
	err := c.Flags.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return ExitOK, true
	case err != nil:
		return ExitUsage, true
	case c.version:
		fmt.Fprintf(c.stderr, "%s %s\n", c.name, Version())
		return ExitOK, true
	}
	return ExitOK, false
}

// Usagef reports a usage error (bad argument values): the message, the
// usage, and exit code 2.
func (c *Command) Usagef(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "%s: %s\n", c.name, fmt.Sprintf(format, args...))
	c.Flags.Usage()
	return ExitUsage
}

// Failf reports a failure at run time and returns exit code 1.
func (c *Command) Failf(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "%s: %s\n", c.name, fmt.Sprintf(format, args...))
	return ExitFail
}

// Logger returns a text logger on stderr: debug level with -v, warnings
// otherwise.
func (c *Command) Logger() *slog.Logger {
	level := slog.LevelWarn
	if c.Verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level})).With("cmd", c.name)
}

// Version is the module version when built from a tagged module, else
// "devel" with the VCS revision when known.
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			return "devel+" + s.Value[:min(12, len(s.Value))]
		}
	}
	return "devel"
}

// ListenAddr is a flag value check: "HOST:PORT", with a numeric port in
// 0-65535 (or a service name).
func ListenAddr(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("address %q is not HOST:PORT", s)
	}
	if n, err := strconv.Atoi(port); err == nil && (n < 0 || n > 65535) {
		return fmt.Errorf("address %q: port %d is not in 0-65535", s, n)
	}
	return nil
}

// CheckServerArgs is the check every server makes after Parse: no
// positional arguments, and each listen address flag (name → value) is
// HOST:PORT; an empty value is allowed for optional ones (optional names).
// The error names the flag and is meant for Usagef.
func (c *Command) CheckServerArgs(addrs []AddrFlag) error {
	if c.Flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", c.Flags.Arg(0))
	}
	for _, a := range addrs {
		if a.Value == "" && a.Optional {
			continue
		}
		if err := ListenAddr(a.Value); err != nil {
			return fmt.Errorf("-%s: %w", a.Name, err)
		}
	}
	return nil
}

// AddrFlag is a listen-address flag for CheckServerArgs.
type AddrFlag struct {
	Name     string // flag name without the dash, e.g. "addr"
	Value    string
	Optional bool // empty means off
}
