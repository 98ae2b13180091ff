// Command client sends N messages to an SMTP server with one of three
// libraries and prints messages/s: netstages (protocols/smtp), Go's
// net/smtp, or github.com/wneessen/go-mail. Modes as in
// shared/anchors/RESULTS.md §4: reuse (one connection) and fresh (dial,
// EHLO, MAIL, RCPT, DATA, QUIT per message).
package main
