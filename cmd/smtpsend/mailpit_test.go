package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/cmd/internal/clitest"
	"netstages/protocols/smtp/smtptest"
)

// mailpit is a running Mailpit (github.com/axllent/mailpit, pinned by
// go.mod's tool directive) with STARTTLS required and AUTH on, on free
// 127.0.0.1 ports, its database in a temp dir.
type mailpit struct {
	smtpAddr, api, caFile, logFile string
	http                           *http.Client
}

// freeAddr returns a 127.0.0.1 address nobody is listening on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startMailpit builds Mailpit with `go tool -n mailpit` (the go.mod pin;
// cached after the first build), writes a CA-signed certificate and an
// SMTP password file, starts it and waits until its HTTP API and SMTP port
// answer. Cleanup stops it (SIGTERM, then SIGKILL) and waits for it.
func startMailpit(t *testing.T, user, password string) *mailpit {
	t.Helper()
	dir := t.TempDir() // registered first, so removed after Mailpit stops
	var goErr bytes.Buffer
	build := exec.Command("go", "tool", "-n", "mailpit") // builds it (or finds it in the build cache) and prints its path
	build.Stderr = &goErr
	out, err := build.Output()
	if err != nil {
		t.Fatalf("go tool -n mailpit: %v\n%s", err, goErr.String())
	}
	bin := strings.TrimSpace(string(out))

	ca, err := smtptest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Server.Certificate[0]})
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.Server.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	m := &mailpit{
		smtpAddr: freeAddr(t), caFile: filepath.Join(dir, "ca.pem"), logFile: filepath.Join(dir, "mailpit.log"),
		http: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second},
	}
	httpAddr := freeAddr(t)
	m.api = "http://" + httpAddr
	for name, data := range map[string][]byte{
		"ca.pem": ca.CertPEM, "cert.pem": certPEM, "key.pem": keyPEM,
		"smtp-auth": []byte(user + ":" + password + "\n"), // htpasswd file, plain-text entry
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logf, err := os.Create(m.logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close() // the child has its own copy
	cmd := exec.Command(bin,
		"--smtp", m.smtpAddr, "--listen", httpAddr,
		"--database", filepath.Join(dir, "mailpit.db"),
		"--smtp-tls-cert", filepath.Join(dir, "cert.pem"), "--smtp-tls-key", filepath.Join(dir, "key.pem"),
		"--smtp-require-starttls", "--smtp-auth-file", filepath.Join(dir, "smtp-auth"),
		"--smtp-disable-rdns", "--disable-version-check", "--verbose")
	cmd.Stdout, cmd.Stderr = logf, logf // *os.File: no copying goroutines
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mailpit: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	if err := m.waitReady(exited); err != nil {
		log, _ := os.ReadFile(m.logFile)
		t.Fatalf("mailpit did not come up: %v\n%s", err, log)
	}
	return m
}

// waitReady polls /readyz and the SMTP port (a guard against a hang, not
// a timing assertion).
func (m *mailpit) waitReady(exited <-chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("mailpit exited: %v", err)
		default:
		}
		resp, err := m.http.Get(m.api + "/readyz")
		if err == nil {
			resp.Body.Close()
			if c, derr := net.DialTimeout("tcp", m.smtpAddr, time.Second); derr == nil && resp.StatusCode == http.StatusOK {
				c.Close()
				return nil
			}
		}
		if time.Now().After(deadline) {
			return errors.New("not ready after 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// get fetches an API path and returns the body (status must be 200).
func (m *mailpit) get(t *testing.T, path string) []byte {
	t.Helper()
	resp, err := m.http.Get(m.api + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v\n%s", path, resp.Status, err, body)
	}
	return body
}

func (m *mailpit) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(m.get(t, path), v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

type mpAddress struct{ Name, Address string }

// mpMessage is the part of Mailpit's /api/v1/message/{ID} the test reads.
type mpMessage struct {
	ID, MessageID, Subject, Text, HTML string
	From                               mpAddress
	To, Cc, Bcc                        []mpAddress
	Attachments                        []struct {
		PartID, FileName, ContentType string
		Size                          int
	}
}

// The outside oracle: a real SMTP server (Mailpit) requiring STARTTLS and
// AUTH, read back through its HTTP API.
func TestMailpitReceivesEveryAttachmentIntact(t *testing.T) {
	is := is.New(t)
	mp := startMailpit(t, "alice", "s3cret")
	dir, binary := files(t)
	bin := clitest.Build(t, ".")

	// As a user runs it: the real binary, certificates verified against the test's CA.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	send := exec.CommandContext(ctx, bin, "-server", mp.smtpAddr, "-helo", "client.test",
		"-from", "Zoë Sender <zoe@example.com>",
		"-to", "Bob Müller <bob@example.com>", "-to", "carol@example.com", "-cc", "dave@example.com", "-bcc", "hidden@example.com",
		"-subject", "Grüße — the files you asked for ✓",
		"-body", filepath.Join(dir, "body.txt"), "-html", filepath.Join(dir, "body.html"),
		"-attach", filepath.Join(dir, "notes.txt"), "-attach", filepath.Join(dir, "every-byte.bin"),
		"-attach", filepath.Join(dir, "Übersicht – 2026.weird"),
		"-user", "alice", "-password-file", filepath.Join(dir, "password"),
		"-starttls", "required", "-ca-file", mp.caFile, "-v")
	send.Stdout, send.Stderr = &stdout, &stderr
	err := send.Run()
	if err != nil {
		t.Logf("smtpsend stderr:\n%s", stderr.String())
	}
	is.NoErr(err)                                                                     // smtpsend exits 0
	is.True(strings.Contains(stdout.String(), "accepted for 4 of 4 recipients: 250")) // every recipient accepted
	is.True(strings.Contains(stderr.String(), "-> STARTTLS"))                         // upgraded to TLS
	is.True(strings.Contains(stderr.String(), "<- 235"))                              // Mailpit accepted the credentials
	is.True(!strings.Contains(stderr.String()+stdout.String(), "s3cret"))             // password never printed

	var list struct {
		Total    int
		Messages []struct{ ID string }
	}
	mp.getJSON(t, "/api/v1/messages", &list)
	is.Equal(list.Total, 1)         // exactly one message arrived
	is.Equal(len(list.Messages), 1) // and it is listed
	id := list.Messages[0].ID

	var msg mpMessage
	mp.getJSON(t, "/api/v1/message/"+id, &msg)
	is.Equal(msg.Subject, "Grüße — the files you asked for ✓")                                        // encoded words decoded by Mailpit
	is.Equal(msg.From, mpAddress{"Zoë Sender", "zoe@example.com"})                                    // non-ASCII display name decoded
	is.Equal(msg.To, []mpAddress{{"Bob Müller", "bob@example.com"}, {"", "carol@example.com"}})       // both To, in order
	is.Equal(msg.Cc, []mpAddress{{"", "dave@example.com"}})                                           // Cc kept apart from To
	is.True(msg.MessageID != "" && !strings.HasSuffix(msg.MessageID, "@mailpit"))                     // smtpsend's Message-ID, not one Mailpit had to add
	text := strings.ReplaceAll(msg.Text, "\r\n", "\n")                                                // MIME text travels with CRLF line ends
	is.Equal(text, "Hello Bob,\n\n.a line with a leading dot\nthe files are attached. 100 € each.\n") // body intact: dot-stuffing undone once, UTF-8 kept
	is.True(strings.Contains(msg.HTML, "<b>Bob</b>, 100 €"))                                          // HTML alternative intact

	// Every attachment byte-identical, fetched part by part.
	want := []struct {
		name, typ string
		data      []byte
	}{
		{"notes.txt", "text/plain", []byte("first\nsecond\n")},
		{"every-byte.bin", "application/octet-stream", binary},
		{"Übersicht – 2026.weird", "application/octet-stream", []byte("unknown extension, still sent\n")},
	}
	is.Equal(len(msg.Attachments), len(want)) // three attachments
	for i, w := range want {
		a := msg.Attachments[i]
		is.Equal(a.FileName, w.name)                     // filename decoded (RFC 2231 for the non-ASCII one)
		is.True(strings.HasPrefix(a.ContentType, w.typ)) // Content-Type as smtpsend chose it
		is.Equal(a.Size, len(w.data))                    // decoded size
		got := mp.get(t, "/api/v1/message/"+id+"/part/"+a.PartID)
		is.True(bytes.Equal(got, w.data)) // byte-identical after base64 there and back
	}
	seen := map[byte]bool{}
	for _, c := range binary {
		seen[c] = true
	}
	is.Equal(len(seen), 256) // the binary that came back intact holds every byte value

	// Bcc: delivered through the envelope, never written in the headers.
	// Mailpit itself adds a Bcc header, at the very top, for envelope
	// recipients it cannot find in To/Cc/Bcc (and logs that it did).
	is.Equal(msg.Bcc, []mpAddress{{"", "hidden@example.com"}}) // the blind copy was delivered
	raw := string(mp.get(t, "/api/v1/message/"+id+"/raw"))
	is.True(strings.HasPrefix(raw, "Bcc: hidden@example.com\r\n")) // the line Mailpit prepends
	is.Equal(strings.Count(raw, "hidden@example.com"), 1)          // and nowhere in what smtpsend wrote
	is.Equal(strings.Count(strings.ToLower(raw), "\nbcc:"), 0)     // no Bcc header from smtpsend
	log, err := os.ReadFile(mp.logFile)
	is.NoErr(err)
	// Mailpit 1.27.11 records the username only for AUTH LOGIN, so the
	// authenticated session is checked in its (logfmt) log.
	is.True(strings.Contains(string(log), `allow PLAIN login:\"alice\"`)) // Mailpit checked the credentials
	starttls := strings.Index(string(log), "received (127.0.0.1) STARTTLS")
	authAt := strings.Index(string(log), "received (127.0.0.1) AUTH PLAIN")
	is.True(starttls > 0 && authAt > starttls)                                                          // the credentials went over TLS
	is.True(strings.Contains(string(log), "added missing addresses to Bcc header: hidden@example.com")) // Mailpit saw no Bcc header

	// What smtpsend wrote (after Mailpit's Bcc and Received lines) has
	// 7-bit headers only: the decoding above was Mailpit's, of RFC 2047/2231.
	head, _, found := strings.Cut(raw, "\r\n\r\n")
	is.True(found) // a header/body boundary
	for i := range len(head) {
		if head[i] >= 0x80 {
			t.Fatalf("8-bit byte in the headers at %d: %q", i, head[max(0, i-40):min(len(head), i+40)])
		}
	}
	is.True(strings.Contains(head, "\r\nSubject: =?")) // an encoded-word subject

	var headers map[string][]string
	mp.getJSON(t, "/api/v1/message/"+id+"/headers", &headers)
	is.Equal(headers["Mime-Version"], []string{"1.0"}) // MIME-Version present once
	is.Equal(len(headers["Date"]), 1)                  // one Date
	is.Equal(len(headers["Message-Id"]), 1)            // one Message-ID
}
