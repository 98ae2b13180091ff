// Package smtptest runs an outside SMTP server for tests, benchmarks and
// the netsim tour: github.com/emersion/go-smtp with a scripted backend that
// stores what arrives and fails where it is told, plus a throwaway
// certificate authority for STARTTLS. Nothing here is used by the client
// itself.
//
// Concurrency: a Backend is safe for concurrent use by the server's
// sessions and the test reading Messages. Limits are go-smtp's own.
package smtptest
