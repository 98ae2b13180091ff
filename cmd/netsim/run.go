package main

import (
	"fmt"
	"io"

	"netstages/cmd/internal/cli"
)

// Run dispatches netsim's subcommands.
func Run(args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintf(stderr, "usage: netsim COMMAND [flags]\n\ncommands:\n  tour      run every protocol over an in-process network and show each pipeline\n  transfer  send bytes over a reliable stream (sim/rdt) across a faulty simulated link\n  echo      run protocols/echo over a reliable stream across a faulty simulated link\n  http      fetch a file from httpd over a reliable stream across a faulty simulated link\n  smtp      send an email with an attachment to go-smtp across a faulty simulated link\n  ping      ping pingd (protocols/ping) across a faulty simulated link\n  sweep     repeat transfer over a range of loss rates and ARQ schemes, write a CSV\n\n'netsim COMMAND -h' shows a command's flags.\n")
	}
	if len(args) == 0 {
		usage()
		return cli.ExitUsage
	}
	switch args[0] {
	case "tour":
		return runTour(args[1:], stdout, stderr)
	case "transfer", "echo":
		return runExperiment(args[0], args[1:], stdout, stderr)
	case "sweep":
		return runSweep(args[1:], stdout, stderr)
	case "ping":
		return runPing(args[1:], stdout, stderr)
	case "http":
		return runHTTP(args[1:], stdout, stderr)
	case "smtp":
		return runSMTP(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		usage()
		return cli.ExitOK
	case "-version", "--version":
		fmt.Fprintf(stdout, "netsim %s\n", cli.Version())
		return cli.ExitOK
	}
	fmt.Fprintf(stderr, "netsim: unknown command %q\n", args[0])
	usage()
	return cli.ExitUsage
}
