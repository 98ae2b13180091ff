package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/textproto"
	"path/filepath"
	"strings"
	"time"
)

// Limits on what a message may hold.
const (
	// MaxFilename is the longest attachment name in bytes; even
	// percent-encoded (RFC 2231) it keeps its header line under 998 octets.
	MaxFilename = 255
	// MaxSubject is the longest subject in bytes.
	MaxSubject = 4096
	// base64Line is the length of a base64 line (RFC 2045 §6.8).
	base64Line = 76
	// foldAt is where header lines are folded when they can be (RFC 5322
	// §2.1.1 recommends 78).
	foldAt = 78
)

// Errors of the composer.
var (
	// ErrHeaderInjection means a header value holds CR, LF or another
	// control character: it could start a header of its own.
	ErrHeaderInjection = errors.New("mail: CR, LF or control character in a header value")
	// ErrBadAddress means an address is not a valid RFC 5322 addr-spec.
	ErrBadAddress = errors.New("mail: bad address")
	// ErrNoFrom means the message has no From address.
	ErrNoFrom = errors.New("mail: no From address")
	// ErrTooLong means a subject or filename is over its limit.
	ErrTooLong = errors.New("mail: header value too long")
)

// Message is an email to compose.
type Message struct {
	From    netmail.Address
	To      []netmail.Address
	Cc      []netmail.Address
	Bcc     []netmail.Address // they receive the message; never in its headers
	Subject string
	// Date is the Date header; zero means the Composer's clock.
	Date time.Time
	// MessageID is the Message-ID without angle brackets; "" generates one.
	MessageID string
	// Text is the text/plain body; HTML, when set, is its text/html
	// alternative.
	Text string
	HTML string
	// Attachments follow the body.
	Attachments []Attachment
}

// Attachment is a file sent with a message.
type Attachment struct {
	// Filename is the name shown to the recipient (no directories).
	Filename string
	// ContentType is the MIME type; "" picks one by the extension, and an
	// unknown extension gets application/octet-stream.
	ContentType string
	// Data is the file's content, sent base64-encoded.
	Data []byte
}

// Recipients returns every envelope recipient (To, Cc and Bcc), each once.
func (m *Message) Recipients() []string {
	seen := map[string]bool{}
	var out []string
	for _, list := range [][]netmail.Address{m.To, m.Cc, m.Bcc} {
		for _, a := range list {
			if k := strings.ToLower(a.Address); !seen[k] {
				seen[k] = true
				out = append(out, a.Address)
			}
		}
	}
	return out
}

// Composer turns Messages into RFC 5322 / MIME bytes. Its zero value uses
// the system clock and crypto/rand; tests give it fixed ones. It is safe for
// concurrent use if its Rand is.
type Composer struct {
	// Now is the clock for Date; nil means time.Now.
	Now func() time.Time
	// Rand is the source for Message-IDs and boundaries; nil means
	// crypto/rand.Reader.
	Rand io.Reader
	// Domain is the right side of generated Message-IDs; "" takes From's
	// domain.
	Domain string
}

// Compose builds the message: headers, then a text/plain part (with a
// text/html alternative when HTML is set), then the attachments, with CRLF
// line endings and no line over 78 octets except where a single word is
// longer (never over 998).
func (c Composer) Compose(m *Message) ([]byte, error) {
	if err := check(m); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := c.writeHeaders(&b, m); err != nil {
		return nil, err
	}
	if err := c.writeBody(&b, m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Compose builds m with a zero Composer.
func Compose(m *Message) ([]byte, error) { return Composer{}.Compose(m) }

func (c Composer) random(n int) (string, error) {
	r := c.Rand
	if r == nil {
		r = rand.Reader
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", fmt.Errorf("mail: random: %w", err)
	}
	return hex.EncodeToString(buf), nil
}

func (c Composer) writeHeaders(b *bytes.Buffer, m *Message) error {
	date := m.Date
	if date.IsZero() {
		now := time.Now
		if c.Now != nil {
			now = c.Now
		}
		date = now()
	}
	id := m.MessageID
	if id == "" {
		r, err := c.random(16)
		if err != nil {
			return err
		}
		domain := c.Domain
		if domain == "" {
			_, domain, _ = strings.Cut(m.From.Address, "@")
		}
		id = r + "@" + domain
	}
	writeHeader(b, "Date", date.Format(time.RFC1123Z))
	writeHeader(b, "From", m.From.String())
	switch {
	case len(m.To) > 0:
		writeHeader(b, "To", addressList(m.To))
	case len(m.Cc) == 0:
		writeHeader(b, "To", "undisclosed-recipients:;")
	}
	if len(m.Cc) > 0 {
		writeHeader(b, "Cc", addressList(m.Cc))
	}
	writeHeader(b, "Subject", encodeText(m.Subject))
	writeHeader(b, "Message-ID", "<"+id+">")
	writeHeader(b, "MIME-Version", "1.0")
	return nil
}

// writeHeader writes "Name: value" folded at spaces so lines stay near 78
// octets.
func writeHeader(b *bytes.Buffer, name, value string) {
	b.WriteString(fold(name+": "+value) + "\r\n")
}

// fold breaks a header line at spaces into lines of at most foldAt octets
// where it can; a word longer than that stays whole on its own line. It
// never breaks right after "Name:" (some readers then keep the space).
func fold(line string) string {
	var out strings.Builder
	minBreak := strings.Index(line, ": ") + 2
	for len(line) > foldAt {
		i := strings.LastIndexByte(line[:foldAt+1], ' ')
		if i < minBreak {
			i = strings.IndexByte(line[min(minBreak, len(line)):], ' ')
			if i < 0 {
				break
			}
			i += minBreak
		}
		out.WriteString(line[:i] + "\r\n")
		line = line[i:] // the space starts the continuation line
		minBreak = 1
	}
	out.WriteString(line)
	return out.String()
}

func addressList(list []netmail.Address) string {
	parts := make([]string, len(list))
	for i, a := range list {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}

// encodeText makes an unstructured header value safe: non-ASCII text, text
// that looks like an encoded word, and words too long to fold become RFC
// 2047 encoded words (each at most 75 octets, never splitting a character).
func encodeText(s string) string {
	needs := strings.Contains(s, "=?")
	for _, w := range strings.Fields(s) {
		needs = needs || len(w) > foldAt-len("Subject: ")
	}
	for _, c := range []byte(s) {
		needs = needs || c > 127
	}
	if !needs {
		return s
	}
	return qEncode(s)
}

// qEncode writes s as "Q" encoded words (RFC 2047 §4.2) of at most 75
// octets, separated by spaces.
func qEncode(s string) string {
	const prefix, suffix, maxWord = "=?utf-8?q?", "?=", 75
	var words []string
	var cur strings.Builder
	for _, r := range s {
		var enc string
		switch {
		case r == ' ':
			enc = "_"
		case r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!*+-/", r)):
			enc = string(r)
		default:
			for _, b := range []byte(string(r)) {
				enc += fmt.Sprintf("=%02X", b)
			}
		}
		if cur.Len() > 0 && len(prefix)+cur.Len()+len(enc)+len(suffix) > maxWord {
			words = append(words, prefix+cur.String()+suffix)
			cur.Reset()
		}
		cur.WriteString(enc)
	}
	if cur.Len() > 0 {
		words = append(words, prefix+cur.String()+suffix)
	}
	return strings.Join(words, " ")
}

// boundary returns a multipart boundary that base64 and quoted-printable
// output cannot contain ("=_" never appears in either).
func (c Composer) boundary() (string, error) {
	r, err := c.random(12)
	return "=_ns_" + r, err
}

func (c Composer) writeBody(b *bytes.Buffer, m *Message) error {
	if len(m.Attachments) == 0 {
		return c.writeText(b, m, nil)
	}
	bound, err := c.boundary()
	if err != nil {
		return err
	}
	writeHeader(b, "Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": bound}))
	b.WriteString("\r\n")
	mw := multipart.NewWriter(b)
	if err := mw.SetBoundary(bound); err != nil {
		return fmt.Errorf("mail: boundary: %w", err)
	}
	if m.Text != "" || m.HTML != "" {
		if err := c.writeText(b, m, mw); err != nil {
			return err
		}
	}
	for _, a := range m.Attachments {
		if err := writeAttachment(mw, a); err != nil {
			return err
		}
	}
	return mw.Close()
}

// writeText writes the text part, or a multipart/alternative of text and
// HTML: as the whole body when parent is nil, else as a part of parent.
func (c Composer) writeText(b *bytes.Buffer, m *Message, parent *multipart.Writer) error {
	header := func(h textproto.MIMEHeader) (io.Writer, error) {
		if parent != nil {
			return parent.CreatePart(h)
		}
		for _, k := range []string{"Content-Type", "Content-Transfer-Encoding"} {
			if v := h.Get(k); v != "" {
				writeHeader(b, k, v)
			}
		}
		b.WriteString("\r\n")
		return b, nil
	}
	if m.HTML == "" {
		w, err := header(textHeader("text/plain"))
		if err != nil {
			return err
		}
		if err := writeQP(w, m.Text); err != nil {
			return err
		}
		if parent == nil && !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
			b.WriteString("\r\n") // a message ends with a line break
		}
		return nil
	}
	bound, err := c.boundary()
	if err != nil {
		return err
	}
	w, err := header(textproto.MIMEHeader{"Content-Type": {mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": bound})}})
	if err != nil {
		return err
	}
	alt := multipart.NewWriter(w)
	if err := alt.SetBoundary(bound); err != nil {
		return fmt.Errorf("mail: boundary: %w", err)
	}
	for _, p := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		pw, err := alt.CreatePart(textHeader(p.typ))
		if err != nil {
			return err
		}
		if err := writeQP(pw, p.body); err != nil {
			return err
		}
	}
	return alt.Close()
}

func textHeader(typ string) textproto.MIMEHeader {
	return textproto.MIMEHeader{
		"Content-Type":              {mime.FormatMediaType(typ, map[string]string{"charset": "utf-8"})},
		"Content-Transfer-Encoding": {"quoted-printable"},
	}
}

// writeQP writes text as quoted-printable: lines of at most 76 octets, line
// breaks as CRLF.
func writeQP(w io.Writer, text string) error {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, text); err != nil {
		return fmt.Errorf("mail: quoted-printable: %w", err)
	}
	if err := qp.Close(); err != nil {
		return fmt.Errorf("mail: quoted-printable: %w", err)
	}
	return nil
}

// ContentType returns the attachment's type: its own, else by the
// extension, else application/octet-stream. An unknown type is never an
// error.
func (a Attachment) contentType() (string, map[string]string, error) {
	ct := a.ContentType
	if ct == "" {
		ct = mime.TypeByExtension(strings.ToLower(filepath.Ext(a.Filename)))
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", nil, fmt.Errorf("mail: attachment %q: content type %q: %w", a.Filename, ct, err)
	}
	return mt, params, nil
}

func writeAttachment(mw *multipart.Writer, a Attachment) error {
	mt, params, err := a.contentType()
	if err != nil {
		return err
	}
	params["name"] = a.Filename
	h := textproto.MIMEHeader{
		"Content-Type":              {foldParams(mime.FormatMediaType(mt, params))},
		"Content-Disposition":       {foldParams(mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename}))},
		"Content-Transfer-Encoding": {"base64"},
	}
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	return writeBase64(w, a.Data)
}

// foldParams puts each parameter of a long media type on its own line.
func foldParams(v string) string {
	if len(v) < foldAt-len("Content-Disposition: ") {
		return v
	}
	return strings.ReplaceAll(v, "; ", ";\r\n ")
}

// writeBase64 writes data base64-encoded in lines of 76 characters.
func writeBase64(w io.Writer, data []byte) error {
	enc := make([]byte, base64.StdEncoding.EncodedLen(len(data)))
	base64.StdEncoding.Encode(enc, data)
	var b bytes.Buffer
	for len(enc) > 0 {
		n := min(base64Line, len(enc))
		b.Write(enc[:n])
		b.WriteString("\r\n")
		enc = enc[n:]
	}
	_, err := w.Write(b.Bytes())
	return err
}
