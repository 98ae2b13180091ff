package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net"
	netmail "net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/protocols/smtp/smtptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server starts go-smtp with STARTTLS (a CA made here) and AUTH on
// 127.0.0.1 and returns its address and the CA file.
func server(t *testing.T, b *smtptest.Backend) (addr, caFile string) {
	t.Helper()
	ca, err := smtptest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := smtptest.Start(ln, b, smtptest.Options{TLS: ca.ServerTLS()})
	t.Cleanup(func() { stop() })
	return ln.Addr().String(), caFile
}

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(args, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Logf("smtpsend exited %d; stderr:\n%s", code, errb.String())
	}
	return code, out.String(), errb.String()
}

// files writes the test's body, HTML and three attachments: a text file, a
// binary with every byte value, and one with a non-ASCII name and an
// unknown type.
func files(t *testing.T) (dir string, binary []byte) {
	dir = t.TempDir()
	for i := range 1024 {
		binary = append(binary, byte(i))
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("body.txt", []byte("Hello Bob,\n\n.a line with a leading dot\nthe files are attached. 100 € each.\n"))
	write("body.html", []byte("<p>Hello <b>Bob</b>, 100 €</p>\n"))
	write("notes.txt", []byte("first\nsecond\n"))
	write("every-byte.bin", binary)
	write("Übersicht – 2026.weird", []byte("unknown extension, still sent\n"))
	write("password", []byte("s3cret\n"))
	return dir, binary
}

func TestSendsAMessageWithThreeAttachmentsOverSTARTTLSAndAUTH(t *testing.T) {
	is := is.New(t)
	b := &smtptest.Backend{Users: map[string]string{"alice": "s3cret"}}
	addr, caFile := server(t, b)
	dir, binary := files(t)
	code, stdout, stderr := runCmd(t, "-server", addr, "-from", "Zoë Sender <zoe@example.com>",
		"-to", "Bob <bob@example.com>", "-to", "carol@example.com", "-cc", "dave@example.com", "-bcc", "hidden@example.com",
		"-subject", "Grüße — the files you asked for",
		"-body", filepath.Join(dir, "body.txt"), "-html", filepath.Join(dir, "body.html"),
		"-attach", filepath.Join(dir, "notes.txt"), "-attach", filepath.Join(dir, "every-byte.bin"),
		"-attach", filepath.Join(dir, "Übersicht – 2026.weird"),
		"-user", "alice", "-password-file", filepath.Join(dir, "password"), "-ca-file", caFile, "-v")
	is.Equal(code, 0) // sent
	is.True(strings.Contains(stdout, "accepted for 4 of 4 recipients: 250"))
	is.True(strings.Contains(stderr, "-> STARTTLS"))              // -v shows the dialogue like swaks
	is.True(strings.Contains(stderr, "-> AUTH PLAIN <redacted>")) // credentials redacted
	is.True(strings.Contains(stderr, "<- 235"))
	is.True(!strings.Contains(stderr, "s3cret")) // the password is nowhere in the output

	msgs := b.Messages()
	is.Equal(len(msgs), 1)
	got := msgs[0]
	is.True(got.TLS)            // sent over TLS
	is.Equal(got.User, "alice") // authenticated
	is.Equal(got.From, "zoe@example.com")
	is.Equal(got.To, []string{"bob@example.com", "carol@example.com", "dave@example.com", "hidden@example.com"}) // Bcc in the envelope
	is.True(!bytes.Contains(got.Data, []byte("hidden@example.com")))                                             // never in the message

	// Go's net/mail reads the headers back.
	msg, err := netmail.ReadMessage(bytes.NewReader(got.Data))
	is.NoErr(err)
	subject, _ := (&mime.WordDecoder{}).DecodeHeader(msg.Header.Get("Subject"))
	is.Equal(subject, "Grüße — the files you asked for")
	from, err := msg.Header.AddressList("From")
	is.NoErr(err)
	is.Equal(from[0].Name, "Zoë Sender")
	is.Equal(msg.Header.Get("MIME-Version"), "1.0")
	_, err = msg.Header.Date()
	is.NoErr(err) // a valid Date
	is.True(msg.Header.Get("Message-ID") != "")

	// Python's email package agrees on every part, byte for byte.
	py := pyParse(t, got.Data)
	is.Equal(py.Subject, "Grüße — the files you asked for")
	is.Equal(len(py.Defects), 0)
	is.True(py.MaxLine <= 998)
	is.Equal(py.BareLF, 0)
	is.Equal(len(py.Parts), 5) // text, html, three attachments
	is.Equal(py.Parts[0].Text, "Hello Bob,\n\n.a line with a leading dot\nthe files are attached. 100 € each.\n")
	is.Equal(py.Parts[2].Filename, "notes.txt")
	is.Equal(py.Parts[2].Type, "text/plain")
	is.Equal(py.Parts[3].Filename, "every-byte.bin")
	is.Equal(py.Parts[3].SHA256, sha(binary)) // every byte value intact
	is.Equal(py.Parts[4].Filename, "Übersicht – 2026.weird")
	is.Equal(py.Parts[4].Type, "application/octet-stream") // unknown type: a default, not an abort
}

type pyPart struct {
	Type     string `json:"type"`
	Filename string `json:"filename"`
	SHA256   string `json:"sha256"`
	Text     string `json:"text"`
}

type pyMsg struct {
	Subject string   `json:"subject"`
	Defects []string `json:"defects"`
	MaxLine int      `json:"max_line"`
	BareLF  int      `json:"bare_lf"`
	Parts   []pyPart `json:"parts"`
}

func pyParse(t *testing.T, raw []byte) pyMsg {
	t.Helper()
	f := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(f, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("python3", "../../protocols/mail/testdata/parse_mail.py", f).Output()
	if err != nil {
		t.Fatalf("python3 parse_mail.py: %v", err)
	}
	var m pyMsg
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRefusalExitsOneWithTheServersReply(t *testing.T) {
	is := is.New(t)
	b := &smtptest.Backend{RejectRcpt: map[string]*gosmtp.SMTPError{
		"nobody@example.com": {Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "No such user"},
	}}
	addr, caFile := server(t, b)
	code, _, stderr := runCmd(t, "-server", addr, "-from", "a@example.com", "-to", "nobody@example.com", "-subject", "x", "-ca-file", caFile, "-v")
	is.Equal(code, 1)                                           // failed
	is.True(strings.Contains(stderr, "550 5.1.1 No such user")) // with the server's reply
	is.True(strings.Contains(stderr, "\n-> QUIT"))              // and said goodbye, not a bare hang-up
	code, stdout, stderr := runCmd(t, "-server", addr, "-from", "a@example.com", "-to", "nobody@example.com", "-to", "ok@example.com", "-subject", "x", "-ca-file", caFile)
	is.Equal(code, 1) // one refused recipient is still a failure to report
	is.True(strings.Contains(stdout, "accepted for 1 of 2"))
	is.True(strings.Contains(stderr, "nobody@example.com refused (permanent): 550 5.1.1"))
	is.Equal(len(b.Messages()), 1) // the good recipient got it
}

func TestChunkingByDefaultAndNoChunking(t *testing.T) {
	is := is.New(t)
	b := &smtptest.Backend{}
	addr, caFile := server(t, b)
	base := []string{"-server", addr, "-from", "a@example.com", "-to", "b@example.com", "-subject", "x", "-ca-file", caFile, "-v"}
	code, _, stderr := runCmd(t, base...)
	is.Equal(code, 0)
	is.True(strings.Contains(stderr, "\n-> BDAT ")) // go-smtp offers CHUNKING: the message goes by BDAT
	is.True(!strings.Contains(stderr, "\n-> DATA"))
	code, _, stderr = runCmd(t, append(base, "-no-chunking")...)
	is.Equal(code, 0)
	is.True(strings.Contains(stderr, "\n-> DATA")) // -no-chunking keeps DATA
	is.True(!strings.Contains(stderr, "BDAT"))
	is.Equal(len(b.Messages()), 2) // both arrived
}

func TestTLSFailuresAreClear(t *testing.T) {
	is := is.New(t)
	b := &smtptest.Backend{Users: map[string]string{"alice": "pw"}}
	addr, _ := server(t, b)
	t.Setenv("SMTP_PW", "pw")
	code, _, stderr := runCmd(t, "-server", addr, "-from", "a@example.com", "-to", "b@example.com", "-user", "alice", "-password-env", "SMTP_PW")
	is.Equal(code, 1)                                // the test CA is not trusted by default
	is.True(strings.Contains(stderr, "certificate")) // and it says so
	code, _, stderr = runCmd(t, "-server", addr, "-from", "a@example.com", "-to", "b@example.com", "-user", "alice", "-password-env", "SMTP_PW", "-insecure-skip-verify")
	if code != 0 {
		t.Log(stderr)
	}
	is.Equal(code, 0) // only the explicit insecure flag skips verification
	is.Equal(b.Messages()[0].User, "alice")
}

func TestUsageErrors(t *testing.T) {
	cases := [][]string{
		{}, // nothing
		{"-server", "x:25", "-from", "a@example.com"}, // no recipient
		{"-server", "x", "-from", "a@example.com", "-to", "b@example.com"},
		{"-server", "x:25", "-from", "a@example.com", "-to", "b@example.com", "-password", "secret"}, // no such flag: never on the command line
		{"-server", "x:25", "-from", "a@example.com", "-to", "b@example.com", "-starttls", "maybe"},
		{"-server", "x:25", "-from", "a@example.com", "-to", "b@example.com", "-password-env", "X"},
		{"-server", "x:25", "-from", "a@example.com", "-to", "b@example.com", "-user", "u"}, // a password flag is needed
		{"-server", "x:99999", "-from", "a@example.com", "-to", "b@example.com"},
		{"-server", ":25", "-from", "a@example.com", "-to", "b@example.com"}, // no host
		{"-server", "x:25", "-from", "a@example.com", "-to", "b@example.com", "-auth", "CRAM-MD5"},
		{"-server", "x:25", "-from", "not an address", "-to", "b@example.com"},
		{"-server", "x:25", "-from", "a@example.com", "-to", "b@example.com", "-cc", "bad address"},
	}
	for _, args := range cases {
		is := is.New(t)
		code, _, stderr := runCmd(t, args...)
		is.Equal(code, 2)                           // usage error
		is.True(strings.Contains(stderr, "usage:")) // with the usage
	}
	is := is.New(t)
	code, _, stderr := runCmd(t, "-server", "x:25", "-from", "a@example.com", "-to", "b@example.com", "-subject", "hi\r\nBcc: v@example.com", "-dry-run")
	is.Equal(code, 2)                           // header injection: a bad flag, refused before anything is sent
	is.True(strings.Contains(stderr, "CR, LF")) // saying why
	is.True(strings.Contains(stderr, "usage:")) // with the usage
}

// A -helo with CR/LF would make the server read "EHLO x" then "RSET": it
// is a usage error and nothing is sent.
func TestBadHeloIsAUsageError(t *testing.T) {
	b := &smtptest.Backend{}
	addr, caFile := server(t, b)
	for _, helo := range []string{"x\r\nRSET", "x\nRSET", "two words", "x\x00", ""} {
		is := is.New(t)
		code, _, stderr := runCmd(t, "-server", addr, "-from", "a@example.com", "-to", "b@example.com", "-subject", "x", "-ca-file", caFile, "-helo", helo)
		is.Equal(code, 2)                           // usage error
		is.True(strings.Contains(stderr, "-helo"))  // naming the flag
		is.True(strings.Contains(stderr, "usage:")) // with the usage
	}
	is := is.New(t)
	is.Equal(b.Sessions(), 0) // the server never saw a greeting
	code, _, _ := runCmd(t, "-server", addr, "-from", "a@example.com", "-to", "b@example.com", "-subject", "x", "-ca-file", caFile, "-helo", "[127.0.0.1]")
	is.Equal(code, 0)              // an address literal is a good name
	is.Equal(len(b.Messages()), 1) // and the message went
}

// repeatReader yields n copies of a 64-byte line without holding them.
type repeatReader struct{ n, off int64 }

func (r *repeatReader) Read(p []byte) (int, error) {
	const line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.\n"
	total := r.n * int64(len(line))
	if r.off >= total {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.off < total {
		c := copy(p[n:], line[r.off%int64(len(line)):])
		if rest := total - r.off; int64(c) > rest {
			c = int(rest)
		}
		n += c
		r.off += int64(c)
	}
	return n, nil
}

// A body on standard input over the limit fails; it is never truncated
// and sent with exit 0.
func TestStdinBodyOverTheLimitFails(t *testing.T) {
	is := is.New(t)
	b := &smtptest.Backend{}
	addr, caFile := server(t, b)
	args := []string{"-server", addr, "-from", "a@example.com", "-to", "b@example.com", "-subject", "big", "-ca-file", caFile, "-body", "-"}
	var out, errb bytes.Buffer
	code := Run(args, &repeatReader{n: maxStdinBody/64 + 1}, &out, &errb)
	is.Equal(code, 1)                                            // failed
	is.True(strings.Contains(errb.String(), "over 64 MiB"))      // and says why
	is.True(strings.Contains(errb.String(), "nothing was sent")) // and that nothing went
	is.Equal(len(b.Messages()), 0)                               // the server got nothing
	is.Equal(b.Sessions(), 0)                                    // not even a greeting

	data, err := readFile("-", &repeatReader{n: maxStdinBody / 64})
	is.NoErr(err)                               // exactly at the limit is fine
	is.Equal(len(data), maxStdinBody)           // and nothing is cut
	is.Equal(string(data[len(data)-2:]), ".\n") // up to the last byte
}

func TestDryRunPrintsTheMessage(t *testing.T) {
	is := is.New(t)
	var out, errb bytes.Buffer
	code := Run([]string{"-server", "mx.example:25", "-from", "a@example.com", "-to", "b@example.com", "-bcc", "hidden-bcc@example.com", "-subject", "Dry", "-body", "-", "-dry-run"},
		strings.NewReader("from stdin\n"), &out, &errb)
	is.Equal(code, 0)
	is.True(strings.Contains(out.String(), "Subject: Dry\r\n"))
	is.True(strings.Contains(out.String(), "\r\n\r\nfrom stdin\r\n")) // the body from standard input
	is.True(!strings.Contains(out.String(), "hidden-bcc"))            // Bcc hidden
	is.True(strings.Contains(errb.String(), "RCPT TO:b@example.com,hidden-bcc@example.com"))
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// A server that accepts and never greets: smtpsend gives up after -timeout
// and says what it was waiting for.
func TestSilentServerTimesOutClearly(t *testing.T) {
	is := is.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if c, err := ln.Accept(); err == nil {
			io.Copy(io.Discard, c) // silent until the client hangs up
			c.Close()
		}
	}()
	code, _, stderr := runCmd(t, "-server", ln.Addr().String(), "-timeout", "200ms", "-from", "a@example.com", "-to", "b@example.com", "-subject", "x")
	is.Equal(code, 1)                                                                                                  // failed, not hung
	is.True(strings.Contains(stderr, "session not set up (connect, greeting, EHLO, TLS, AUTH) within -timeout 200ms")) // says what it waited for
	<-done                                                                                                             // the client closed the connection
}
