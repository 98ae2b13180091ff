package pcap

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"netstages/sim"
)

const (
	snapLen    = 65535
	maxPayload = 65535 - 20 - 8
)

// Addresses maps every host named in recs to an IPv4 address, by sorted name.
func Addresses(recs []sim.Record) map[string]net.IP {
	var hosts []string
	for _, r := range recs {
		for _, a := range []string{r.From, r.To} {
			h, _, _ := net.SplitHostPort(a)
			if !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
	}
	slices.Sort(hosts)
	ips := make(map[string]net.IP, len(hosts))
	for i, h := range hosts {
		ips[h] = net.IPv4(10, 0, byte((i+1)>>8), byte(i+1)).To4()
	}
	return ips
}

// Write writes recs, in send order, as a pcap capture (gopacket's pcapgo
// writer: nanosecond timestamps, LINKTYPE_RAW). Records need their
// payloads (sim.Config.KeepPayloads).
func Write(w io.Writer, start time.Time, recs []sim.Record) error {
	recs = sorted(recs)
	ips := Addresses(recs)
	bw := bufio.NewWriter(w)
	pw := pcapgo.NewWriterNanos(bw)
	if err := pw.WriteFileHeader(snapLen, layers.LinkTypeRaw); err != nil {
		return err
	}
	for _, r := range recs {
		pkt, err := datagram(r, ips)
		if err != nil {
			return err
		}
		ci := gopacket.CaptureInfo{Timestamp: start.Add(r.Sent), CaptureLength: len(pkt), Length: len(pkt)}
		if err := pw.WritePacket(ci, pkt); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteDrops writes one line per dropped packet, in send order: the index
// on its link direction, the time, the endpoints and the reason.
func WriteDrops(w io.Writer, recs []sim.Record) error {
	bw := bufio.NewWriter(w)
	for _, r := range sorted(recs) {
		if r.Drop != "" {
			fmt.Fprintf(bw, "%v #%d %s > %s %d B dropped: %s\n", r.Sent, r.N, r.From, r.To, r.Size, r.Drop)
		}
	}
	return bw.Flush()
}

func sorted(recs []sim.Record) []sim.Record {
	recs = slices.Clone(recs)
	slices.SortStableFunc(recs, func(a, b sim.Record) int {
		if a.Sent != b.Sent {
			return int(a.Sent - b.Sent)
		}
		if a.From != b.From {
			if a.From < b.From {
				return -1
			}
			return 1
		}
		return int(a.N) - int(b.N)
	})
	return recs
}

// datagram synthesizes the IPv4 and UDP headers around a record's payload.
func datagram(r sim.Record, ips map[string]net.IP) ([]byte, error) {
	if len(r.Payload) > maxPayload {
		return nil, fmt.Errorf("pcap: packet #%d of %s is %d bytes, over %d", r.N, r.From, len(r.Payload), maxPayload)
	}
	src, sport, err := split(r.From, ips)
	if err != nil {
		return nil, err
	}
	dst, dport, err := split(r.To, ips)
	if err != nil {
		return nil, err
	}
	total := 20 + 8 + len(r.Payload)
	b := make([]byte, 28, total)
	b[0] = 0x45 // IPv4, 20-byte header
	binary.BigEndian.PutUint16(b[2:], uint16(total))
	binary.BigEndian.PutUint16(b[4:], uint16(r.N)) // identification: the index on the link
	b[8] = 64                                      // TTL
	b[9] = 17                                      // UDP
	copy(b[12:16], src)
	copy(b[16:20], dst)
	binary.BigEndian.PutUint16(b[10:], checksum(b[:20]))
	binary.BigEndian.PutUint16(b[20:], sport)
	binary.BigEndian.PutUint16(b[22:], dport)
	binary.BigEndian.PutUint16(b[24:], uint16(8+len(r.Payload)))
	// UDP checksum 0: "no checksum", allowed over IPv4 (RFC 768).
	return append(b, r.Payload...), nil
}

func split(addr string, ips map[string]net.IP) (net.IP, uint16, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, 0, fmt.Errorf("pcap: %w", err)
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return nil, 0, fmt.Errorf("pcap: bad port in %q", addr)
	}
	return ips[h], uint16(port), nil
}

// checksum is the RFC 1071 Internet checksum.
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
