package pcap_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/sim"
	"netstages/sim/pcap"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// capture sends a few datagrams each way over a lossy link under synctest
// and returns the pcap and drop report.
func capture(t *testing.T, seed uint64) (capBytes []byte, drops string, recs []sim.Record) {
	synctest.Test(t, func(t *testing.T) {
		nw := sim.New(sim.Config{Seed: seed, Trace: true, KeepPayloads: true})
		defer nw.Close()
		f := sim.Faults{Latency: 5 * time.Millisecond, Loss: 0.3}
		l, _ := nw.Connect("alice", "bob", f, f)
		a, _ := nw.Host("alice").Bind("udp", "alice:1000")
		b, _ := nw.Host("bob").Bind("udp", "bob:2000")
		defer a.Close()
		defer b.Close()
		for i := range 20 {
			a.Send(b.Addr(), []byte("hello bob "+string(rune('a'+i))))
			b.Send(a.Addr(), []byte("hello alice"))
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Second)
		recs = append(l.Records("alice"), l.Records("bob")...)
		var c, d bytes.Buffer
		if err := pcap.Write(&c, nw.Start(), recs); err != nil {
			t.Fatal(err)
		}
		pcap.WriteDrops(&d, recs)
		capBytes, drops = c.Bytes(), d.String()
	})
	return capBytes, drops, recs
}

func TestCaptureIsValidAndDeterministic(t *testing.T) {
	is := is.New(t)
	c1, d1, recs := capture(t, 4)
	c2, d2, _ := capture(t, 4)
	_, d3, _ := capture(t, 5)
	is.True(bytes.Equal(c1, c2))                    // same seed: byte-identical pcap
	is.Equal(d1, d2)                                // and drop report
	is.True(d1 != d3)                               // another seed: other fates (the capture shows every packet sent, so only drops differ)
	is.True(strings.Count(d1, "dropped: loss") > 0) // drops reported
	// Walk the file: global header, then one record per packet.
	is.Equal(binary.LittleEndian.Uint32(c1), uint32(0xa1b23c4d)) // nanosecond pcap
	is.Equal(binary.LittleEndian.Uint32(c1[20:]), uint32(101))   // LINKTYPE_RAW
	n, off := 0, 24
	for off < len(c1) {
		incl := int(binary.LittleEndian.Uint32(c1[off+8:]))
		pkt := c1[off+16 : off+16+incl]
		is.Equal(pkt[0], byte(0x45))                                                                          // IPv4
		is.Equal(pkt[9], byte(17))                                                                            // UDP
		is.Equal(int(binary.BigEndian.Uint16(pkt[2:])), incl)                                                 // total length
		is.True(bytes.Equal(pkt[12:16], []byte{10, 0, 0, 1}) || bytes.Equal(pkt[12:16], []byte{10, 0, 0, 2})) // alice or bob
		off += 16 + incl
		n++
	}
	is.Equal(n, len(recs)) // every packet, dropped ones too
	is.Equal(n, 40)
}

// TestTcpdumpReadsTheCapture uses tcpdump (Makefile DEB_PACKAGES) as the
// outside oracle: it must parse every packet as UDP between the synthesized
// addresses.
func TestTcpdumpReadsTheCapture(t *testing.T) {
	is := is.New(t)
	c, _, _ := capture(t, 4)
	path := filepath.Join(t.TempDir(), "sim.pcap")
	is.NoErr(os.WriteFile(path, c, 0o644))
	out, err := exec.Command("tcpdump", "-nn", "-r", path).CombinedOutput()
	is.NoErr(err) // tcpdump reads the file
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var udp int
	for _, l := range lines {
		if strings.Contains(l, "UDP, length") {
			udp++
		}
	}
	is.Equal(udp, 40)                                                       // every packet decoded as UDP
	is.True(strings.Contains(string(out), "10.0.0.1.1000 > 10.0.0.2.2000")) // alice → bob, ports kept
}

// TestGopacketReadsTheCapture reads the capture back with gopacket's pcapgo
// reader and decodes each packet's IPv4 and UDP layers: addresses, ports and
// payloads must be the records', in send order.
func TestGopacketReadsTheCapture(t *testing.T) {
	is := is.New(t)
	c, _, recs := capture(t, 4)
	r, err := pcapgo.NewReader(bytes.NewReader(c))
	is.NoErr(err)                                                    // a pcap header
	is.Equal(r.LinkType(), layers.LinkTypeRaw)                       // raw IP
	is.Equal(r.Resolution(), gopacket.TimestampResolutionNanosecond) // nanosecond timestamps
	ips := pcap.Addresses(recs)
	n := 0
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		is.NoErr(err) // a packet record
		is.Equal(ci.CaptureLength, len(data))
		pkt := gopacket.NewPacket(data, layers.LayerTypeIPv4, gopacket.Default)
		ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		is.True(ip != nil && udp != nil) // IPv4 and UDP decode
		fromAlice := ip.SrcIP.Equal(ips["alice"])
		is.True(fromAlice || ip.SrcIP.Equal(ips["bob"]))          // a synthesized address
		is.Equal(udp.SrcPort == 1000, fromAlice)                  // alice:1000 → bob:2000 or back
		is.Equal(udp.DstPort == 2000, fromAlice)                  // and the destination port
		is.True(strings.HasPrefix(string(udp.Payload), "hello ")) // the payload as sent
		is.Equal(int(udp.Length), 8+len(udp.Payload))             // UDP length
		n++
	}
	is.Equal(n, len(recs)) // every packet, dropped ones too
}
