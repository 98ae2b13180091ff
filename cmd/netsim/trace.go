package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"netstages/sim"
	"netstages/sim/pcap"
	"netstages/sim/rdt"
)

// writePcap writes the run's packets to path and its drops to
// path.drops.txt.
func writePcap(path string, start time.Time, recs []sim.Record) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pcap.Write(f, start, recs); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	d, err := os.Create(path + ".drops.txt")
	if err != nil {
		return err
	}
	if err := pcap.WriteDrops(d, recs); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// writeTrace writes a Mermaid sequence diagram of the first n packets, in
// send order, each labelled with its rdt segment; lost packets are drawn as
// arrows that end in a cross, like the textbook's rdt, GBN and SR figures.
func writeTrace(path string, recs []sim.Record, n int) error {
	slices.SortStableFunc(recs, func(a, b sim.Record) int {
		if a.Sent != b.Sent {
			return int(a.Sent - b.Sent)
		}
		return strings.Compare(a.From, b.From)
	})
	recs = recs[:min(n, len(recs))]
	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	var hosts []string // in order of their first packet
	for _, r := range recs {
		for _, h := range []string{host(r.From), host(r.To)} {
			if !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
				fmt.Fprintf(&b, "  participant %s\n", h)
			}
		}
	}
	for _, r := range recs {
		from, to := host(r.From), host(r.To)
		label := fmt.Sprintf("%d B", r.Size)
		if seg, err := rdt.Decode(r.Payload); err == nil {
			label = seg.String()
		} else if r.Corrupted {
			label = "corrupted"
		}
		arrow := "->>"
		note := ""
		switch {
		case r.Drop != "":
			arrow, note = "-x", " LOST ("+r.Drop+")"
		case r.Corrupted:
			note = " (bit flipped)"
		case r.Copies > 1:
			note = " (duplicated)"
		}
		if r.Reordered {
			note += " (held back)"
		}
		fmt.Fprintf(&b, "  %s%s%s: t=%v %s%s\n", from, arrow, to, r.Sent, label, note)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func host(addr string) string {
	h, _, _ := strings.Cut(addr, ":")
	return h
}
