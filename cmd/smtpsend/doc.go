// Command smtpsend composes a message (text, optional HTML alternative,
// attachments) with protocols/mail and sends it with the protocols/smtp
// client: STARTTLS (required whenever AUTH is used, unless -starttls says
// otherwise) or implicit TLS (-tls), AUTH PLAIN/LOGIN/XOAUTH2, PIPELINING.
// It is the textbook's mail client grown into a small swaks:
//
//	smtpsend -server smtp.example.com:587 -from 'Zoë <zoe@example.com>' -to bob@example.com \
//	    -subject 'Grüße' -body note.txt -attach report.pdf -user zoe -password-env SMTP_PASSWORD -v
//
// -v prints the dialogue (-> sent, <- received) with credentials redacted;
// -dry-run prints the composed message instead of sending it. Passwords come
// only from an environment variable or a file. Exit status: 0 accepted for
// every recipient, 1 failure or a refused recipient (the server's reply is
// printed), 2 bad usage.
//
// Its run group has two actors: the signal handler and the sender (one
// session, one message, QUIT). The -outbox-worker run (outbox.go) is
// long-running; its -status-addr serves the live stage view of its SMTP
// sessions (one pipeline per delivery, all counted in one meter) at
// /debug/stages.
package main
