package mail_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/protocols/mail"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// summary is what a mail reader sees; the Go and Python parsers each fill
// one and they must agree.
type summary struct {
	Subject     string   `json:"subject"`
	From        []addr   `json:"from"`
	To          []addr   `json:"to"`
	Cc          []addr   `json:"cc"`
	BccPresent  bool     `json:"bcc_present"`
	MIMEVersion string   `json:"mime_version"`
	Defects     []string `json:"defects"`
	MaxLine     int      `json:"max_line"`
	BareLF      int      `json:"bare_lf"`
	Parts       []part   `json:"parts"`
}

type addr struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

type part struct {
	Type        string  `json:"type"`
	Disposition *string `json:"disposition"`
	Filename    *string `json:"filename"`
	SHA256      string  `json:"sha256"`
	Size        int     `json:"size"`
	Text        *string `json:"text,omitempty"`
}

// everyByte is a binary file holding each byte value four times.
func everyByte() []byte {
	var b []byte
	for range 4 {
		for i := range 256 {
			b = append(b, byte(i))
		}
	}
	return b
}

func sampleMessage() *mail.Message {
	return &mail.Message{
		From:    netmail.Address{Name: "Zoë Sender", Address: "zoe@example.com"},
		To:      []netmail.Address{{Name: "Bob Example", Address: "bob@example.com"}, {Address: "carol@example.com"}},
		Cc:      []netmail.Address{{Name: "Dörte", Address: "doerte@example.com"}},
		Bcc:     []netmail.Address{{Name: "Hidden", Address: "hidden@example.com"}},
		Subject: "Grüße aus Köln — quarterly report, with a subject long enough to need folding",
		Text:    "Hello,\n\nthe report is attached. Price: 100 € = about 107 $.\n.a line starting with a dot\n" + strings.Repeat("long line ", 30) + "\n",
		HTML:    "<p>Hello,</p><p>the report is <b>attached</b>. Price: 100 €.</p>\n",
		Attachments: []mail.Attachment{
			{Filename: "notes.txt", Data: []byte("plain text notes\nsecond line\n")},
			{Filename: "every-byte.bin", Data: everyByte()},
			{Filename: "résumé – été 2026.pdf", Data: bytes.Repeat([]byte("%PDF-1.4 not really "), 300)},
			{Filename: "data.no-such-type", Data: []byte("unknown type")},
		},
	}
}

// goSummary parses raw with net/mail and mime/multipart.
func goSummary(t *testing.T, raw []byte) summary {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail: %v", err)
	}
	dec := &mime.WordDecoder{}
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("subject: %v", err)
	}
	s := summary{Subject: subject, MIMEVersion: msg.Header.Get("MIME-Version"), BccPresent: msg.Header.Get("Bcc") != ""}
	for _, f := range []struct {
		name string
		dst  *[]addr
	}{{"From", &s.From}, {"To", &s.To}, {"Cc", &s.Cc}} {
		list, err := msg.Header.AddressList(f.name)
		if err != nil && !errors.Is(err, netmail.ErrHeaderNotPresent) {
			t.Fatalf("%s: %v", f.name, err)
		}
		for _, a := range list {
			*f.dst = append(*f.dst, addr{a.Name, a.Address})
		}
	}
	for _, line := range bytes.Split(raw, []byte("\r\n")) {
		s.MaxLine = max(s.MaxLine, len(line))
	}
	s.BareLF = bytes.Count(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n"))
	s.Defects = []string{}
	walk(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", msg.Body, &s.Parts)
	return s
}

// walk collects the leaf parts of an entity.
func walk(t *testing.T, ctype, cte, disp string, body io.Reader, out *[]part) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("content type %q: %v", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("multipart: %v", err)
			}
			walk(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p.Header.Get("Content-Disposition"), p, out)
		}
	}
	switch strings.ToLower(cte) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("decode %s: %v", cte, err)
	}
	sum := sha256.Sum256(data)
	p := part{Type: mt, SHA256: hex.EncodeToString(sum[:]), Size: len(data)}
	if disp != "" {
		d, dparams, err := mime.ParseMediaType(disp)
		if err != nil {
			t.Fatalf("disposition %q: %v", disp, err)
		}
		p.Disposition = &d
		if name, ok := dparams["filename"]; ok {
			p.Filename = &name
		}
	}
	if strings.HasPrefix(mt, "text/") && disp == "" {
		text := strings.ReplaceAll(string(data), "\r\n", "\n")
		p.Text = &text
	}
	*out = append(*out, p)
}

// pySummary parses raw with Python's email package (testdata/parse_mail.py).
func pySummary(t *testing.T, raw []byte) summary {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed as the outside MIME parser: %v", err)
	}
	f := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(f, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "testdata/parse_mail.py", f).Output()
	if err != nil {
		t.Fatalf("parse_mail.py: %v", err)
	}
	var s summary
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("parse_mail.py output: %v\n%s", err, out)
	}
	for _, list := range []*[]addr{&s.From, &s.To, &s.Cc} { // an empty group is no addresses, as in Go
		if len(*list) == 0 {
			*list = nil
		}
	}
	for i := range s.Parts { // Python reports no disposition as null, like Go's nil
		if s.Parts[i].Disposition != nil && *s.Parts[i].Disposition == "" {
			s.Parts[i].Disposition = nil
		}
	}
	return s
}

func TestComposedMessageParsesTheSameInGoAndPython(t *testing.T) {
	is := is.New(t)
	m := sampleMessage()
	raw, err := mail.Compose(m)
	is.NoErr(err) // composed
	g, p := goSummary(t, raw), pySummary(t, raw)
	gj, _ := json.MarshalIndent(g, "", " ")
	pj, _ := json.MarshalIndent(p, "", " ")
	if !bytes.Equal(gj, pj) {
		os.WriteFile("/tmp/go.json", gj, 0o644)
		os.WriteFile("/tmp/py.json", pj, 0o644)
		t.Fatalf("Go and Python disagree:\nGo: %s\nPython: %s", gj, pj)
	}
	is.Equal(g.Subject, m.Subject)                              // the non-ASCII subject decodes back
	is.Equal(g.From, []addr{{"Zoë Sender", "zoe@example.com"}}) // encoded display name
	is.Equal(g.Cc, []addr{{"Dörte", "doerte@example.com"}})
	is.Equal(len(g.To), 2)
	is.True(!g.BccPresent)                                      // Bcc never in the headers
	is.True(!bytes.Contains(raw, []byte("hidden@example.com"))) // not anywhere
	is.Equal(g.MIMEVersion, "1.0")
	is.Equal(len(p.Defects), 0)               // Python found nothing wrong
	is.True(g.MaxLine <= len("Subject: ")+75) // folded or wrapped: at most a header name and one encoded word
	is.Equal(g.BareLF, 0)                     // CRLF everywhere
	is.Equal(len(g.Parts), 6)                 // text, html, four attachments
	is.Equal(*g.Parts[0].Text, m.Text)        // text round-trips through quoted-printable
	is.Equal(*g.Parts[1].Text, m.HTML)
	for i, a := range m.Attachments {
		gp := g.Parts[2+i]
		sum := sha256.Sum256(a.Data)
		is.Equal(gp.SHA256, hex.EncodeToString(sum[:])) // byte-identical attachment
		is.Equal(*gp.Filename, a.Filename)              // name back, RFC 2231 decoded
		is.Equal(*gp.Disposition, "attachment")
	}
	is.Equal(g.Parts[2].Type, "text/plain")               // by extension
	is.Equal(g.Parts[4].Type, "application/pdf")          // by extension
	is.Equal(g.Parts[5].Type, "application/octet-stream") // unknown type: a default, not an abort
	// Headers a mail reader needs.
	msg, _ := netmail.ReadMessage(bytes.NewReader(raw))
	_, err = msg.Header.Date()
	is.NoErr(err) // Date parses
	is.True(strings.HasPrefix(msg.Header.Get("Message-ID"), "<") && strings.HasSuffix(msg.Header.Get("Message-ID"), "@example.com>"))
	// Base64 lines are exactly 76 characters, except each part's last.
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) == 76 || len(line) == 0 {
			continue
		}
		is.True(len(line) < 76 || strings.Contains(line, " ")) // no unbroken long line
	}
}

func TestTextOnlyAndHTMLOnlyShapes(t *testing.T) {
	is := is.New(t)
	for _, m := range []*mail.Message{
		{From: netmail.Address{Address: "a@example.com"}, To: []netmail.Address{{Address: "b@example.com"}}, Subject: "plain", Text: "just text"},
		{From: netmail.Address{Address: "a@example.com"}, Bcc: []netmail.Address{{Address: "b@example.com"}}, Subject: "html", HTML: "<p>x</p>", Text: "x"},
		{From: netmail.Address{Address: "a@example.com"}, To: []netmail.Address{{Address: "b@example.com"}}, Subject: "files only", Attachments: []mail.Attachment{{Filename: "a.png", Data: []byte{137, 80, 78, 71}}}},
	} {
		raw, err := mail.Compose(m)
		is.NoErr(err)
		g, p := goSummary(t, raw), pySummary(t, raw)
		gj, _ := json.Marshal(g)
		pj, _ := json.Marshal(p)
		is.Equal(string(gj), string(pj)) // both parsers agree
		is.Equal(len(p.Defects), 0)
		is.Equal(g.Subject, m.Subject)
	}
}

func TestBccOnlyGetsUndisclosedRecipients(t *testing.T) {
	is := is.New(t)
	m := &mail.Message{From: netmail.Address{Address: "a@example.com"}, Bcc: []netmail.Address{{Address: "x@example.com"}, {Address: "X@example.com"}}, Text: "t"}
	raw, err := mail.Compose(m)
	is.NoErr(err)
	is.True(bytes.Contains(raw, []byte("To: undisclosed-recipients:;\r\n"))) // a To header readers accept
	is.True(!bytes.Contains(raw, []byte("x@example.com")))                   // the Bcc address is nowhere
	is.Equal(m.Recipients(), []string{"x@example.com"})                      // but it is an envelope recipient, once
}

func TestHeaderInjectionIsRefused(t *testing.T) {
	base := func() *mail.Message {
		return &mail.Message{From: netmail.Address{Address: "a@example.com"}, To: []netmail.Address{{Address: "b@example.com"}}, Text: "t"}
	}
	cases := map[string]func(m *mail.Message){
		"subject":      func(m *mail.Message) { m.Subject = "hi\r\nBcc: victim@example.com" },
		"subject LF":   func(m *mail.Message) { m.Subject = "hi\nX: y" },
		"display name": func(m *mail.Message) { m.To[0].Name = "Bob\r\nBcc: v@example.com" },
		"address":      func(m *mail.Message) { m.To[0].Address = "b@example.com\r\nBcc: v@example.com" },
		"from":         func(m *mail.Message) { m.From.Address = "a@example.com\n" },
		"filename": func(m *mail.Message) {
			m.Attachments = []mail.Attachment{{Filename: "a\r\nContent-Type: text/html", Data: nil}}
		},
		"content type": func(m *mail.Message) {
			m.Attachments = []mail.Attachment{{Filename: "a", ContentType: "text/plain\r\nX: y"}}
		},
		"message-id": func(m *mail.Message) { m.MessageID = "x@y\r\nBcc: v@example.com" },
	}
	for name, mutate := range cases {
		is := is.New(t)
		m := base()
		mutate(m)
		_, err := mail.Compose(m)
		is.True(errors.Is(err, mail.ErrHeaderInjection)) // refused, not encoded
		_ = name
	}
}

func TestBadInputIsAClearError(t *testing.T) {
	is := is.New(t)
	m := &mail.Message{From: netmail.Address{Address: "not an address"}, Text: "t"}
	_, err := mail.Compose(m)
	is.True(errors.Is(err, mail.ErrBadAddress))
	_, err = mail.Compose(&mail.Message{})
	is.True(errors.Is(err, mail.ErrNoFrom))
	m = &mail.Message{From: netmail.Address{Address: "a@example.com"}, Attachments: []mail.Attachment{{Filename: "../../etc/passwd"}}}
	_, err = mail.Compose(m)
	is.True(errors.Is(err, mail.ErrTooLong)) // no directories in names
	m = &mail.Message{From: netmail.Address{Address: "a@example.com"}, Attachments: []mail.Attachment{{Filename: "x", ContentType: "not a type;;"}}}
	_, err = mail.Compose(m)
	is.True(err != nil) // a bad explicit type is an error before anything is sent
}

func TestLongWordsAndLongNamesStayUnder998(t *testing.T) {
	is := is.New(t)
	m := &mail.Message{
		From:        netmail.Address{Address: "a@example.com"},
		To:          []netmail.Address{{Address: "b@example.com"}},
		Subject:     strings.Repeat("x", 2000),
		Text:        strings.Repeat("y", 5000),
		Attachments: []mail.Attachment{{Filename: strings.Repeat("é", 125) + ".txt", Data: []byte("z")}},
	}
	raw, err := mail.Compose(m)
	is.NoErr(err)
	g, p := goSummary(t, raw), pySummary(t, raw)
	is.True(g.MaxLine <= 998) // never over SMTP's limit
	is.Equal(p.MaxLine, g.MaxLine)
	is.Equal(g.Subject, m.Subject) // the unbreakable subject went as encoded words
	is.Equal(*g.Parts[0].Text, m.Text)
	is.Equal(*g.Parts[1].Filename, m.Attachments[0].Filename)
	is.Equal(*p.Parts[1].Filename, m.Attachments[0].Filename)
	is.Equal(len(p.Defects), 0)
}

func ExampleComposer_Compose() {
	c := mail.Composer{
		Now:  func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) },
		Rand: bytes.NewReader(make([]byte, 64)), // fixed, for a stable example
	}
	raw, _ := c.Compose(&mail.Message{
		From:    netmail.Address{Name: "Zoë", Address: "zoe@example.com"},
		To:      []netmail.Address{{Address: "bob@example.com"}},
		Bcc:     []netmail.Address{{Address: "boss@example.com"}},
		Subject: "Grüße",
		Text:    "Hallo Bob, 100 € = a lot.\n",
	})
	os.Stdout.Write(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")))
	// Output:
	// Date: Wed, 25 Nov 2026 12:00:00 +0000
	// From: =?utf-8?q?Zo=C3=AB?= <zoe@example.com>
	// To: <bob@example.com>
	// Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=
	// Message-ID: <00000000000000000000000000000000@example.com>
	// MIME-Version: 1.0
	// Content-Type: text/plain; charset=utf-8
	// Content-Transfer-Encoding: quoted-printable
	//
	// Hallo Bob, 100 =E2=82=AC =3D a lot.
}
