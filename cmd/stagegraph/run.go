package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"netstages/actors/graphview"
	"netstages/actors/graphview/render"
	"netstages/cmd/internal/cli"
)

// Run is stagegraph's whole life.
func Run(args []string, stdout, stderr io.Writer) int {
	cmd := cli.New("stagegraph", "NAME [-format dot|mermaid|svg|png] [-o FILE] [-fused] | -from URL [-format …] [-o FILE] | -list | -update-doc FILE",
		"Draws a netstages pipeline from the graph its code records while it is wired.", stderr)
	format := cmd.Flags.String("format", "dot", "output format: dot, mermaid, svg or png")
	out := cmd.Flags.String("o", "", "write to FILE instead of standard output (png needs it unless stdout is redirected)")
	fused := cmd.Flags.Bool("fused", false, "draw the fused variant (echo, http, ping, pingd; the others are drawn as their packages wire them)")
	list := cmd.Flags.Bool("list", false, "print the names that can be drawn, and where each graph comes from")
	from := cmd.Flags.String("from", "", "draw a running server's pipelines with their live counts, read from its /debug/stages URL")
	updateDoc := cmd.Flags.String("update-doc", "", "rewrite the generated graphs section of this Markdown file (go generate)")
	if code, done := cmd.Parse(args); done {
		return code
	}
	// NAME may come before the flags, as in "stagegraph echo -format svg".
	var name string
	if cmd.Flags.NArg() > 0 {
		name = cmd.Flags.Arg(0)
		if code, done := cmd.Parse(cmd.Flags.Args()[1:]); done {
			return code
		}
		if cmd.Flags.NArg() > 0 {
			return cmd.Usagef("unexpected argument %q", cmd.Flags.Arg(0))
		}
	}
	switch {
	case *list:
		if name != "" {
			return cmd.Usagef("-list takes no NAME")
		}
		for _, e := range entries() {
			fmt.Fprintf(stdout, "%-6s %s (%s)\n", e.name, e.about, e.source)
		}
		return cli.ExitOK
	case *updateDoc != "":
		if name != "" {
			return cmd.Usagef("-update-doc takes no NAME")
		}
		if err := updateFile(*updateDoc); err != nil {
			return cmd.Failf("%v", err)
		}
		return cli.ExitOK
	case *from != "" && name != "":
		return cmd.Usagef("give a NAME or -from, not both")
	case name == "" && *from == "":
		return cmd.Usagef("which pipeline? one of %s (see -list), or -from URL", names())
	}
	f, err := render.ParseFormat(*format)
	if err != nil {
		return cmd.Usagef("-format: %v", err)
	}
	var pipes []graphview.Pipeline
	if *from != "" {
		if pipes, err = fetchLive(context.Background(), *from); err != nil {
			return cmd.Failf("-from: %v", err)
		}
	} else {
		e, ok := lookup(name)
		if !ok {
			return cmd.Usagef("unknown pipeline %q: want one of %s", name, names())
		}
		if pipes, err = e.graphs(*fused); err != nil {
			return cmd.Failf("%s: %v", name, err)
		}
	}
	var buf bytes.Buffer
	if err := render.Render(context.Background(), &buf, f, pipes...); err != nil {
		return cmd.Failf("%v", err)
	}
	if *out == "" {
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			return cmd.Failf("%v", err)
		}
		return cli.ExitOK
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return cmd.Failf("%v", err)
	}
	return cli.ExitOK
}

func names() string {
	var n []string
	for _, e := range entries() {
		n = append(n, e.name)
	}
	return strings.Join(n, ", ")
}
