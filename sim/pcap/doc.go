// Package pcap writes sim link transcripts as a pcap capture that Wireshark
// and tcpdump open: every packet that entered a link, at its send time, with
// synthesized IPv4 and UDP headers (LINKTYPE_RAW, nanosecond timestamps,
// written by github.com/gopacket/gopacket/pcapgo), and a side report of the
// ones the link dropped.
//
// Hosts get addresses 10.0.0.1, 10.0.0.2, … in the sorted order of their
// names, so the same transcript always gives the same bytes. Timestamps are
// the network's start time plus each record's send offset: under
// testing/synctest the start is the bubble's fixed epoch, so a run's capture
// is byte-identical every time.
//
// It has no state; Write and WriteDrops are safe for concurrent use on
// different writers. Limits: payloads over 65,507 bytes (the most a UDP/IPv4
// datagram holds) are refused.
package pcap
