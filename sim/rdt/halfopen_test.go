package rdt_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"netstages/sim"
	"netstages/sim/rdt"
	"netstages/transport"
)

// TestAnEndWaitingOnAPeerThatGaveUpEnds is the half-open connection: the
// server has sent everything and waits for the client's bytes; the link
// goes down both ways, the client gives up after MaxRetries and its RST is
// lost. The server has nothing in flight, so no retransmission timer runs:
// without keepalive probes it waited for ever (a synctest deadlock). It
// must end with ETIMEDOUT.
func TestAnEndWaitingOnAPeerThatGaveUpEnds(t *testing.T) {
	for _, arq := range variants {
		t.Run(string(arq), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := is.New(t)
				w := newWorld(t, 1, rdt.Config{ARQ: arq}, sim.Faults{}, sim.Faults{})
				defer w.net.Close()
				c, s, stop := w.pipe(t)
				_, err := s.Write([]byte("hello"))
				is.NoErr(err)                                    // the server's write is buffered
				is.NoErr(s.(transport.CloseWriter).CloseWrite()) // and its FIN queued
				got, err := io.ReadAll(c)
				is.NoErr(err)                  // the client reads to EOF
				is.Equal(string(got), "hello") // every byte
				synctest.Wait()                // the server's FIN is acknowledged
				w.link.SetDown("client", true) // nothing gets through any more,
				w.link.SetDown("server", true) // not even the client's RST
				_, err = c.Write([]byte("never arrives"))
				is.NoErr(err) // buffered
				_, err = s.Read(make([]byte, 16))
				is.True(errors.Is(err, syscall.ETIMEDOUT)) // the server ends instead of waiting for ever
				<-c.(*rdt.Conn).Done()
				<-s.(*rdt.Conn).Done()
				is.True(strings.Contains(c.(*rdt.Conn).Stats().Err, "timed out")) // the client gave up
				is.True(strings.Contains(s.(*rdt.Conn).Stats().Err, "keepalive")) // the server's probes went unanswered
				stop()
			})
		})
	}
}

// TestStopAndWaitUnderHeavyLossAndDuplicationEnds replays the case the
// property test found: stop-and-wait, 30% loss and 20% duplication both
// ways, 16-byte segments, 9612 bytes each way. At that loss one packet in
// a thousand or so can time out MaxRetries times in a row, so an end may
// give up; whatever happens, both ends end (no deadlock), each reads an
// exact prefix of what was sent (never a wrong or repeated byte), and the
// only errors are timeouts and resets.
func TestStopAndWaitUnderHeavyLossAndDuplicationEnds(t *testing.T) {
	f := sim.Faults{Loss: 0.3, Duplicate: 0.2}
	cfg := rdt.Config{ARQ: rdt.StopAndWait, MSS: 16, Settle: true}
	seeds := 24
	if raceEnabled {
		seeds = 6
	}
	exact := 0
	for seed := range uint64(seeds) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			w := newWorld(t, seed, cfg, f, f)
			defer w.net.Close()
			c, s, stop := w.pipe(t)
			a, b, gotA, gotB := exchange(t, c, s, 9612)
			stop()
			is.True(bytes.HasPrefix(a, gotA)) // client → server: a prefix, in order, once
			is.True(bytes.HasPrefix(b, gotB)) // server → client: a prefix, in order, once
			for _, e := range []string{c.(*rdt.Conn).Stats().Err, s.(*rdt.Conn).Stats().Err} {
				is.True(e == "" || strings.Contains(e, "timed out") || strings.Contains(e, "reset")) // no other end
			}
			if bytes.Equal(a, gotA) && bytes.Equal(b, gotB) {
				exact++
			}
		})
	}
	if exact < seeds/2 {
		t.Fatalf("only %d of %d runs delivered everything", exact, seeds)
	}
}

// TestLastAckGivesUpSoonOnAVanishedPeer: the client has closed, the server
// has read everything and closes too, but its FIN never arrives (the link
// to the client is down, as it would be for a client gone after its
// TIME-WAIT: no RST comes from a closed port here). With nothing left to
// deliver, the server resends its FIN lastAckRetries times, not MaxRetries
// times through minutes of backoff, and ends cleanly.
func TestLastAckGivesUpSoonOnAVanishedPeer(t *testing.T) {
	for _, arq := range variants {
		t.Run(string(arq), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := is.New(t)
				w := newWorld(t, 1, rdt.Config{ARQ: arq}, sim.Faults{}, sim.Faults{})
				defer w.net.Close()
				c, s, _ := w.pipe(t)
				is.NoErr(c.Close())            // the client's FIN
				_, err := io.ReadAll(s)        // reaches the server
				is.NoErr(err)                  // as EOF
				synctest.Wait()                // and is acknowledged
				w.link.SetDown("server", true) // the client is gone: nothing reaches it,
				w.link.SetDown("client", true) // and its RST after TIME-WAIT is lost
				start := time.Now()
				is.NoErr(s.Close()) // LAST-ACK: only the server's FIN is outstanding
				<-s.(*rdt.Conn).Done()
				took := time.Since(start)
				st := s.(*rdt.Conn).Stats()
				is.True(st.Timeouts <= 4)      // three resends of the FIN, then the timeout that gives up
				is.True(took < 10*time.Second) // seconds, not minutes of backoff
				is.Equal(st.Err, "")           // and nothing went wrong: every byte was delivered both ways
			})
		})
	}
}
