// Package mail composes email messages (RFC 5322 with MIME, RFCs 2045–2049)
// for the SMTP client in protocols/smtp: the part of the textbook's mail
// client that built the message, without its bugs (unwrapped base64, no
// MIME-Version, Date or Message-ID, a crash on a non-ASCII subject, an
// abort on an unknown file type).
//
// It is not a pipeline: a message is composed in memory before the session
// starts, so nothing about it can fail in the middle of DATA. It uses the
// standard library where it fits: net/mail for addresses, mime for media
// types (RFC 2231 parameters) and encoded words, mime/quotedprintable and
// mime/multipart for the body.
//
// Shape of a message:
//
//	flowchart TD
//	  mixed["multipart/mixed (only with attachments)"] --> alt["multipart/alternative (only with HTML)"]
//	  alt --> text["text/plain; charset=utf-8, quoted-printable"]
//	  alt --> html["text/html; charset=utf-8, quoted-printable"]
//	  mixed --> att["attachment: type by extension, base64 in 76-character lines,<br/>Content-Disposition: attachment; filename (RFC 2231 when not ASCII)"]
//
// Headers: Date, From, To (or "undisclosed-recipients:;"), Cc, Subject,
// Message-ID, MIME-Version; non-ASCII text as RFC 2047 encoded words;
// folded at spaces near 78 octets. Bcc recipients are returned by
// Recipients for the envelope and never written into the message.
//
// Input limits and checks: a CR, LF or other control character in any
// header value (subject, names, addresses, filenames, content types,
// Message-ID) is refused with ErrHeaderInjection, never encoded away.
// Addresses must parse as RFC 5322 addr-specs. Subjects are at most
// MaxSubject bytes, filenames MaxFilename bytes without directories. No
// output line is over 998 octets; only a header name with one encoded word
// goes past 78.
//
// Concurrency: a Composer holds no state of its own; it is safe for
// concurrent use when its Rand is (crypto/rand's is). There are no channels.
package mail
