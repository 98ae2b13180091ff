package sim_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os/exec"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// blast sends n datagrams from a to b, one every gap, and returns what b
// received (payload strings in arrival order) and the link's records.
func blast(t *testing.T, seed uint64, f sim.Faults, n int, gap time.Duration) ([]string, []sim.Record, sim.DirStats) {
	t.Helper()
	var got []string
	var recs []sim.Record
	var st sim.DirStats
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		nw := sim.New(sim.Config{Seed: seed, Trace: true})
		defer nw.Close()
		l, err := nw.Connect("a", "b", f, sim.Faults{})
		is.NoErr(err) // connect
		src, err := nw.Host("a").Bind("udp", "a:0")
		is.NoErr(err) // bind a
		defer src.Close()
		dst, err := nw.Host("b").Bind("udp", "b:9")
		is.NoErr(err) // bind b
		defer dst.Close()
		received := make(chan []string)
		go func() {
			var got []string
			for {
				d, err := dst.Recv()
				if err != nil {
					received <- got
					return
				}
				got = append(got, string(d.Payload))
			}
		}()
		go func() {
			for i := range n {
				src.Send(dst.Addr(), fmt.Appendf(nil, "packet %04d", i))
				time.Sleep(gap)
			}
		}()
		time.Sleep(time.Duration(n)*gap + 10*time.Second)
		synctest.Wait()
		dst.SetReadDeadline(time.Now())
		got = <-received
		recs, st = l.Records("a"), l.Stats("a")
	})
	return got, recs, st
}

func everything() sim.Faults {
	return sim.Faults{Latency: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.1,
		Burst: &sim.GilbertElliott{P: 0.01, R: 0.3, H: 0.2, K: 1}, Duplicate: 0.05, Reorder: 0.05,
		Corrupt: 0.05, Rate: 10_000_000, Queue: 16, MTU: 1500}
}

func TestSameSeedSameFatesDifferentSeedDifferent(t *testing.T) {
	is := is.New(t)
	got1, recs1, _ := blast(t, 7, everything(), 500, time.Millisecond)
	got2, recs2, _ := blast(t, 7, everything(), 500, time.Millisecond)
	got3, recs3, _ := blast(t, 8, everything(), 500, time.Millisecond)
	is.Equal(len(recs1), 500)                                  // every packet has a record
	is.Equal(fmt.Sprint(recs1), fmt.Sprint(recs2))             // same seed: identical transcript
	is.Equal(strings.Join(got1, ","), strings.Join(got2, ",")) // same seed: identical arrivals
	is.True(fmt.Sprint(recs1) != fmt.Sprint(recs3))            // another seed: other fates
	is.True(strings.Join(got1, ",") != strings.Join(got3, ","))
}

func TestAddingAFaultKeepsTheOthersDraws(t *testing.T) {
	is := is.New(t)
	_, lossOnly, _ := blast(t, 3, sim.Faults{Loss: 0.3}, 300, time.Millisecond)
	_, lossAndMore, _ := blast(t, 3, sim.Faults{Loss: 0.3, Duplicate: 0.2, Latency: time.Millisecond, Jitter: time.Millisecond}, 300, time.Millisecond)
	for i := range lossOnly {
		is.Equal(lossOnly[i].Drop, lossAndMore[i].Drop) // packet i lost in both or in neither
	}
}

func TestLossWithinBinomialInterval(t *testing.T) {
	is := is.New(t)
	const n, p = 2000, 0.2
	_, _, st := blast(t, 11, sim.Faults{Loss: p}, n, time.Millisecond)
	lost := float64(st.Dropped[sim.DropLoss])
	sd := math.Sqrt(n * p * (1 - p))
	is.True(math.Abs(lost-n*p) < 3*sd) // within 3 standard deviations of n*p
	is.Equal(st.Delivered+st.Dropped[sim.DropLoss], uint64(n))
}

func TestLatencyIsExactAndDelaysDoNotAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		nw := sim.New(sim.Config{Seed: 1})
		defer nw.Close()
		// Rate 8 Mbit/s: a 972-byte payload (+28 B headers) takes exactly 1 ms.
		_, err := nw.Connect("a", "b", sim.Faults{Latency: 30 * time.Millisecond, Rate: 8_000_000, Corrupt: 0, Duplicate: 0}, sim.Faults{})
		is.NoErr(err)
		src, _ := nw.Host("a").Bind("udp", "a:0")
		defer src.Close()
		dst, _ := nw.Host("b").Bind("udp", ":9")
		defer dst.Close()
		start := time.Now()
		for range 3 {
			is.NoErr(src.Send(dst.Addr(), make([]byte, 972))) // send
		}
		for i := range 3 {
			_, err := dst.Recv()
			is.NoErr(err)                                                                        // receive
			is.Equal(time.Since(start), time.Duration(i+1)*time.Millisecond+30*time.Millisecond) // serialization queue + latency, once each
		}
	})
}

func TestTailDropAndScheduledOutage(t *testing.T) {
	is := is.New(t)
	// 100 packets at once into a queue of 10: 11 go (one on the wire).
	_, _, st := blast(t, 1, sim.Faults{Rate: 1_000_000, Queue: 10}, 100, 0)
	is.Equal(st.Dropped[sim.DropQueue], uint64(89)) // tail drop beyond the queue
	is.Equal(st.MaxQueue, 10)
	// Down from 100 ms to 200 ms: packets sent every 10 ms, 10 fall inside.
	_, _, st = blast(t, 1, sim.Faults{Down: []sim.Outage{{From: 100 * time.Millisecond, To: 200 * time.Millisecond}}}, 50, 10*time.Millisecond)
	is.Equal(st.Dropped[sim.DropDown], uint64(10))
	// MTU.
	_, _, st = blast(t, 1, sim.Faults{MTU: 5}, 3, 0)
	is.Equal(st.Dropped[sim.DropMTU], uint64(3))
}

func TestSimNeverImportsProtocols(t *testing.T) {
	is := is.New(t)
	out, err := exec.Command("go", "list", "-deps", "netstages/sim/...").CombinedOutput()
	is.NoErr(err) // go list
	for _, line := range strings.Fields(string(out)) {
		is.True(!strings.HasPrefix(line, "netstages/protocols")) // sim must not import protocols
		is.True(!strings.HasPrefix(line, "netstages/cmd"))
	}
}

func TestNoLinkIsUnreachable(t *testing.T) {
	is := is.New(t)
	nw := sim.New(sim.Config{})
	defer nw.Close()
	c, err := nw.Host("a").ListenPacket(context.Background(), "udp", "a:1")
	is.NoErr(err)
	defer c.Close()
	_, err = c.WriteTo([]byte("x"), sim.Addr{Host: "z", Port: 1})
	is.True(err != nil && strings.Contains(err.Error(), "no link")) // clear error
}

func TestRouteSendsOnePeersDatagramsToItsQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		nw := sim.New(sim.Config{Seed: 1})
		defer nw.Close()
		_, err := nw.Connect("a", "b", sim.Faults{}, sim.Faults{})
		is.NoErr(err)
		one, _ := nw.Host("a").Bind("udp", "a:1")
		two, _ := nw.Host("a").Bind("udp", "a:2")
		dst, _ := nw.Host("b").Bind("udp", "b:9")
		defer dst.Close()
		q := make(chan [][]byte, 4)
		dst.Route(one.Addr(), q)
		is.NoErr(one.Send(dst.Addr(), []byte("routed")))
		is.NoErr(two.Send(dst.Addr(), []byte("queued")))
		synctest.Wait()
		is.Equal(string((<-q)[0]), "routed") // the routed peer's datagram went to its queue
		d, ok := dst.TryRecv()
		is.True(ok)
		is.Equal(string(d.Payload), "queued") // the other peer's stayed on the socket
		_, ok = dst.TryRecv()
		is.True(!ok) // and nothing else
		dst.Route(one.Addr(), nil)
		is.NoErr(one.Send(dst.Addr(), []byte("back")))
		synctest.Wait()
		d, ok = dst.TryRecv()
		is.True(ok && string(d.Payload) == "back") // route ended: the socket's queue again
		is.Equal(len(q), 0)
	})
}

// TestCloseEndsEverySocket: closing the network is switching the world off.
// A reader blocked on a socket returns net.ErrClosed, and no new socket can
// be bound, so nothing built on the sim (rdt listeners, pingd) waits for ever.
func TestCloseEndsEverySocket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		nw := sim.New(sim.Config{})
		c, err := nw.Host("a").Bind("udp", "a:1")
		is.NoErr(err)
		got := make(chan error, 1)
		go func() { _, err := c.Recv(); got <- err }()
		synctest.Wait()
		is.NoErr(nw.Close())
		is.True(errors.Is(<-got, net.ErrClosed)) // the blocked reader ended
		_, err = nw.Host("a").Bind("udp", "a:2")
		is.True(errors.Is(err, net.ErrClosed)) // no new sockets
	})
}
