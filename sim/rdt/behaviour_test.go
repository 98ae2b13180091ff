package rdt_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"netstages/actors"
	"netstages/protocols/echo"
	"netstages/sim"
	"netstages/sim/rdt"
	"netstages/transport"
)

// echoOver serves protocols/echo, unchanged, on the world's server stack and
// has the client send lines, half-close and read everything back. It returns
// the echoed text and the client's stats.
func echoOver(t *testing.T, w *world, lines []string) (string, rdt.Stats) {
	t.Helper()
	ln, err := w.server.Listen(context.Background(), "tcp", "server:7")
	if err != nil {
		panic(err)
	}
	srv := &actors.Server{Name: "echod", Handle: echo.Handler(echo.Config{}, nil)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	c, err := w.client.DialContext(context.Background(), "tcp", "server:7")
	if err != nil {
		panic(err)
	}
	go func() {
		for _, l := range lines {
			io.WriteString(c, l)
		}
		c.(transport.CloseWriter).CloseWrite()
	}()
	got, err := io.ReadAll(bufio.NewReader(c))
	if err != nil {
		panic(err)
	}
	c.Close()
	<-c.(*rdt.Conn).Done()
	srv.Shutdown()
	if err := <-served; err != nil {
		panic(err)
	}
	w.server.Wait(context.Background())
	return string(got), c.(*rdt.Conn).Stats()
}

func someLines(n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("line %d: %s\n", i, strings.Repeat("x", i%300))
	}
	return lines
}

func TestEchoRunsUnchangedOverEveryVariantAcrossALossyLink(t *testing.T) {
	for _, arq := range variants {
		t.Run(string(arq), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := is.New(t)
				w := newWorld(t, 9, rdt.Config{ARQ: arq}, lossy(), lossy())
				defer w.net.Close()
				lines := someLines(300)
				got, st := echoOver(t, w, lines)
				is.Equal(got, strings.Join(lines, "")) // every line back, in order, once
				is.True(st.Retransmits > 0)            // the link did lose packets
			})
		})
	}
}

// transcript runs one echo exchange and returns everything observable: the
// link's records both ways and the client's stats.
func transcript(t *testing.T, seed uint64, arq rdt.ARQ) string {
	var out string
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, seed, rdt.Config{ARQ: arq, Settle: true}, lossy(), lossy())
		defer w.net.Close()
		got, st := echoOver(t, w, someLines(200))
		out = fmt.Sprintf("%d bytes echoed\n%+v\n", len(got), st)
		for _, from := range []string{"client", "server"} {
			for _, r := range w.link.Records(from) {
				out += r.String() + "\n"
			}
		}
	})
	return out
}

func TestSameSeedSameTranscriptDifferentSeedDifferent(t *testing.T) {
	for _, arq := range variants {
		t.Run(string(arq), func(t *testing.T) {
			is := is.New(t)
			a, b, c := transcript(t, 42, arq), transcript(t, 42, arq), transcript(t, 43, arq)
			is.True(len(a) > 1000) // a real transcript
			if a != b {
				al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
				for i := range min(len(al), len(bl)) {
					if al[i] != bl[i] {
						t.Fatalf("same seed, runs differ at line %d:\n%s\n%s", i, al[i], bl[i])
					}
				}
			}
			is.Equal(a, b)  // same seed: byte-identical transcript and stats
			is.True(a != c) // another seed: other fates
		})
	}
}

// resendsAfterOneLoss sends 8 packets' worth through a window of 8 with the
// third data packet dropped, and counts the retransmissions.
func resendsAfterOneLoss(t *testing.T, arq rdt.ARQ) (retransmits, timeouts uint64) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		// client→server packets: #0 SYN, #1 ACK of the SYNACK, #2.. data.
		up := sim.Faults{Latency: 10 * time.Millisecond, DropPackets: []uint64{4}}
		w := newWorld(t, 1, rdt.Config{ARQ: arq, Window: 8, MSS: 1000, Settle: true}, up, sim.Faults{Latency: 10 * time.Millisecond})
		defer w.net.Close()
		c, s, stop := w.pipe(t)
		_, err := c.Write(make([]byte, 8000))
		is.NoErr(err) // write 8 packets at once
		_, err = io.ReadFull(s, make([]byte, 8000))
		is.NoErr(err) // all arrive
		st := c.(*rdt.Conn).Stats()
		retransmits, timeouts = st.Retransmits, st.Timeouts
		is.Equal(w.link.Stats("client").Dropped[sim.DropScript], uint64(1)) // exactly one loss
		stop()
	})
	return retransmits, timeouts
}

func TestGoBackNResendsTheWindowSelectiveRepeatOnlyTheLostOne(t *testing.T) {
	is := is.New(t)
	gbn, gbnTimeouts := resendsAfterOneLoss(t, rdt.GoBackN)
	sr, srTimeouts := resendsAfterOneLoss(t, rdt.SelectiveRepeat)
	is.Equal(gbnTimeouts, uint64(1)) // one timeout each
	is.Equal(srTimeouts, uint64(1))
	is.Equal(gbn, uint64(6)) // GBN resends the lost packet and the 5 after it
	is.Equal(sr, uint64(1))  // SR resends only the lost one
}

func TestStopAndWaitUtilisationMatchesTheory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		const (
			mss     = 1000
			packets = 100
			rate    = 1_000_000 // bit/s
			prop    = 15 * time.Millisecond
		)
		up := sim.Faults{Latency: prop, Rate: rate}
		w := newWorld(t, 1, rdt.Config{ARQ: rdt.StopAndWait, MSS: mss}, up, sim.Faults{Latency: prop})
		defer w.net.Close()
		c, s, stop := w.pipe(t)
		defer stop()
		start := time.Now()
		go c.Write(make([]byte, mss*packets))
		_, err := io.ReadFull(s, make([]byte, mss*packets))
		is.NoErr(err)
		elapsed := time.Since(start)
		// L/R for one packet: payload, rdt header and IPv4+UDP headers.
		lr := time.Duration(float64((mss+rdt.HeaderLen+28)*8) / rate * float64(time.Second))
		rtt := 2 * prop
		want := float64(lr) / float64(rtt+lr)
		// The last packet needs no wait for its ack: count packets-1 full
		// cycles and one one-way trip.
		got := float64(packets*lr) / float64(elapsed+rtt-prop)
		t.Logf("U measured %.4f, theory (L/R)/(RTT+L/R) %.4f", got, want)
		is.True(math.Abs(got-want)/want < 0.05) // within 5% of theory
	})
}

// goBackNUnderLoss sends 100 KiB each way with go-back-N (window 32) over
// 5 % loss and returns how long it took and the client's largest RTO.
func goBackNUnderLoss(t *testing.T, noTimestamps bool) (took, maxRTO time.Duration) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		f := sim.Faults{Latency: 10 * time.Millisecond, Loss: 0.05}
		w := newWorld(t, 1, rdt.Config{ARQ: rdt.GoBackN, Window: 32, NoTimestamps: noTimestamps}, f, f)
		defer w.net.Close()
		c, s, stop := w.pipe(t)
		start := time.Now()
		sent, _, got, _ := exchange(t, c, s, 100<<10)
		took = time.Since(start)
		is.Equal(got, sent) // every byte, either way
		for _, ch := range c.(*rdt.Conn).Stats().RTOHistory {
			maxRTO = max(maxRTO, ch.RTO)
		}
		stop()
	})
	return took, maxRTO
}

func TestTimestampsKeepGoBackNFromBackingOffForEver(t *testing.T) {
	is := is.New(t)
	karnTook, karnRTO := goBackNUnderLoss(t, true)
	tsTook, tsRTO := goBackNUnderLoss(t, false)
	t.Logf("Karn only: %v (RTO up to %v); timestamps: %v (RTO up to %v)", karnTook, karnRTO, tsTook, tsRTO)
	is.True(karnRTO >= 10*time.Second) // Karn alone: no samples, the RTO backs off and stays there
	is.True(tsRTO < 2*time.Second)     // timestamps: every ACK for new data is a sample, the RTO comes back down
	is.True(tsTook*5 < karnTook)       // and the transfer is many times faster
}

// TestKarnsRuleWithoutTimestamps: a data packet is lost once and resent.
// Without timestamps (Config.NoTimestamps) the ACK of the resent packet is
// ambiguous, so by Karn's rule it gives no RTT sample and the backed-off
// RTO stays; with timestamps (the default) the ACK echoes the resent
// copy's TSval, an exact sample, and the RTO comes back down at once.
func TestKarnsRuleWithoutTimestamps(t *testing.T) {
	for _, noTS := range []bool{true, false} {
		t.Run(fmt.Sprintf("NoTimestamps=%v", noTS), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := is.New(t)
				// client→server packets: #0 SYN, #1 ACK of the SYNACK, #2 the data.
				up := sim.Faults{Latency: 10 * time.Millisecond, DropPackets: []uint64{2}}
				w := newWorld(t, 1, rdt.Config{ARQ: rdt.StopAndWait, NoTimestamps: noTS, Settle: true}, up, sim.Faults{Latency: 10 * time.Millisecond})
				defer w.net.Close()
				c, s, stop := w.pipe(t)
				defer stop()
				_, err := c.Write([]byte("once lost"))
				is.NoErr(err)
				_, err = io.ReadFull(s, make([]byte, 9))
				is.NoErr(err)                     // arrives, resent
				time.Sleep(50 * time.Millisecond) // its ACK is back at the client (10 ms)
				st := c.(*rdt.Conn).Stats()
				is.Equal(st.Retransmits, uint64(1)) // one resend
				is.Equal(st.BytesSent, uint64(9))   // acknowledged
				last := st.RTOHistory[len(st.RTOHistory)-1]
				if noTS {
					is.Equal(last.Sample, time.Duration(0)) // Karn: the last change is the backoff, no sample from the resent packet
					is.Equal(st.RTO, 400*time.Millisecond)  // the backed-off RTO stays
				} else {
					is.True(last.Sample > 0)               // the echoed timestamp dates the resent copy: a sample
					is.Equal(st.RTO, 200*time.Millisecond) // and the RTO is back at its floor
				}
			})
		})
	}
}
