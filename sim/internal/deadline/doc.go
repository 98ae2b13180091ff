// Package deadline is a settable point in time that closes a channel when it
// passes: the net.Pipe pipeDeadline idea, shared by the sim's datagram
// sockets and the rdt stream connections. It blocks only on channels and
// timers, so it works inside testing/synctest bubbles. A Deadline is safe for
// concurrent use.
package deadline
