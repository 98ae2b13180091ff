package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"netstages/protocols/smtp/smtptest"
)

// TestSEEDBugsAreAbsent sends, end to end, what broke the course's SMTP
// client (shared/anchors/SEED.md §4) and checks each bug is gone. The
// multi-line greeting split over two packets is tested in protocols/smtp
// (TestMultiLineGreetingSplitOverTwoPackets), with a relay in front of
// go-smtp.
func TestSEEDBugsAreAbsent(t *testing.T) {
	is := is.New(t)
	b := &smtptest.Backend{}
	addr, caFile := server(t, b)
	dir := t.TempDir()
	big := make([]byte, 555_000) // base64: 740,000 characters, once a single line
	rand.Read(big)
	is.NoErr(os.WriteFile(filepath.Join(dir, "photo.jpg"), big, 0o600))
	is.NoErr(os.WriteFile(filepath.Join(dir, "data.xyz"), []byte("no type known for .xyz"), 0o600))
	subject := "Привет, 世界 🌍 — ça marche"
	code, stdout, stderr := runCmd(t, "-server", addr, "-from", "student@example.com", "-to", "prof@example.com",
		"-subject", subject, "-attach", filepath.Join(dir, "photo.jpg"), "-attach", filepath.Join(dir, "data.xyz"), "-ca-file", caFile)
	is.Equal(code, 0) // the whole session completed, QUIT included
	is.True(strings.Contains(stdout, "250"))
	is.Equal(stderr, "")
	raw := b.Messages()[0].Data

	t.Run("base64 wrapped, no line over 998", func(t *testing.T) {
		is := is.New(t)
		longest := 0
		for _, l := range bytes.Split(raw, []byte("\r\n")) {
			longest = max(longest, len(l))
		}
		is.True(longest <= 84)                                 // folded and wrapped (a header name and one encoded word at most); the course client sent a 740,696-character line
		is.True(bytes.Count(raw, []byte("\r\n")) > 740_000/76) // the base64 really is in 76-character lines
		py := pyParse(t, raw)
		is.Equal(py.Parts[0].SHA256, sha(big)) // and the attachment is intact
	})
	t.Run("MIME-Version, Date and Message-ID present", func(t *testing.T) {
		is := is.New(t)
		for _, h := range []string{"\r\nMIME-Version: 1.0\r\n", "\r\nMessage-ID: <", "Date: "} {
			is.True(bytes.Contains(raw, []byte(h))) // header present
		}
	})
	t.Run("non-ASCII subject", func(t *testing.T) {
		is := is.New(t)
		is.Equal(pyParse(t, raw).Subject, subject) // encoded, not a crash, decoded back exactly
	})
	t.Run("unknown file type", func(t *testing.T) {
		is := is.New(t)
		py := pyParse(t, raw)
		is.Equal(py.Parts[1].Filename, "data.xyz")
		is.Equal(py.Parts[1].Type, "application/octet-stream") // a default type, not an abort mid-DATA
	})
}
