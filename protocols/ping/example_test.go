package ping_test

import (
	"fmt"
	"os"
	"time"

	"netstages/protocols/ping"
)

// ExampleStats shows how replies are classified and summarised: a
// duplicate, a reordered reply, a late one and a lost one.
func ExampleStats() {
	t0 := time.Unix(0, 0)
	s := ping.NewStats(100*time.Millisecond, 64)
	for seq := uint64(1); seq <= 4; seq++ {
		s.Sent(seq, t0.Add(time.Duration(seq)*10*time.Millisecond), seq == 4)
	}
	fmt.Println(s.Reply(2, t0.Add(22*time.Millisecond)).Outcome) // 2 ms
	fmt.Println(s.Reply(1, t0.Add(16*time.Millisecond)).Outcome) // 6 ms, after 2's reply
	fmt.Println(s.Reply(1, t0.Add(17*time.Millisecond)).Outcome)
	fmt.Println(s.Expire(t0.Add(150*time.Millisecond), nil)) // 3 and 4 timed out
	fmt.Println(s.Reply(3, t0.Add(160*time.Millisecond)).Outcome)
	sum := s.Summary()
	sum.Target = "127.0.0.1:12000"
	ping.WriteSummary(os.Stdout, sum)
	// Output:
	// reply
	// reply
	// duplicate
	// [3 4]
	// late
	// --- 127.0.0.1:12000 ping statistics ---
	// 4 packets transmitted, 2 received, +1 duplicates, 25% packet loss, time 0ms
	// 1 late, 1 reordered, 0 unmatched, 0 malformed
	// rtt min/avg/max/mdev = 2.000/4.000/6.000/2.000 ms
	// rtt p50/p90/p99 = 2.000/6.000/6.000 ms, jitter 0.250 ms
}

// ExampleAppendRequest shows the wire format.
func ExampleAppendRequest() {
	at := time.Unix(1764064538, 123456000)
	fmt.Printf("%q\n", ping.AppendRequest(nil, 1, at, false, 0))
	fmt.Printf("%q\n", ping.AppendRequest(nil, 2, at, true, 40))
	m, _ := ping.ParseReply([]byte("PING 7 08:35:38"))
	fmt.Println(m.Seq, m.Time)
	// Output:
	// "Ping 1 1764064538.123456"
	// "Ping 2 1764064538.123456 heartbeat xxxxx"
	// 7 08:35:38
}
