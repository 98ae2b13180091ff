package http

import "bytes"

// ChunkedDecoder decodes a chunked body (RFC 9112 §7.1) from a byte stream
// fed in pieces of any size. It is strict where leniency lets two parsers
// disagree about where a message ends: every line must end in CRLF, the size
// is hex digits only (at most 15), a chunk's data must be followed by CRLF,
// and extensions and trailer fields must be well-formed (they are checked,
// then dropped). Limits: MaxChunkLine per size line, MaxHeaderBytes for the
// trailer section, MaxBodyBytes for the decoded body (413). A decoder is used
// by one goroutine.
type ChunkedDecoder struct {
	lim       Limits
	state     chunkState
	remaining int64  // data bytes left in the current chunk
	line      []byte // a size or trailer line not yet complete
	trailer   int    // trailer bytes so far
	total     int64  // decoded body bytes so far
}

type chunkState uint8

const (
	chunkSize chunkState = iota
	chunkData
	chunkDataCR
	chunkDataLF
	chunkTrailer
	chunkDone
)

// NewChunkedDecoder returns a decoder bounded by lim.
func NewChunkedDecoder(lim Limits) *ChunkedDecoder {
	return &ChunkedDecoder{lim: lim.WithDefaults()}
}

// Done reports whether the last chunk and the trailer section have been read.
func (d *ChunkedDecoder) Done() bool { return d.state == chunkDone }

// Total returns the decoded body bytes so far.
func (d *ChunkedDecoder) Total() int64 { return d.total }

// Feed decodes from data. It returns the decoded bytes appended to dst when
// keep is true (dst unchanged otherwise), and how many bytes of data it
// consumed: fewer than len(data) only once Done, since the rest belongs to
// the next message. An error is an *Error; the stream is then unusable.
func (d *ChunkedDecoder) Feed(dst, data []byte, keep bool) ([]byte, int, error) {
	n := 0
	for n < len(data) && d.state != chunkDone {
		var used int
		var err *Error
		switch d.state {
		case chunkSize, chunkTrailer:
			used, err = d.feedLine(data[n:])
		case chunkData:
			used = int(min(d.remaining, int64(len(data)-n)))
			if keep {
				dst = append(dst, data[n:n+used]...)
			}
			d.remaining -= int64(used)
			if d.remaining == 0 {
				d.state = chunkDataCR
			}
		case chunkDataCR, chunkDataLF:
			used, err = d.feedCRLF(data[n])
		}
		if err != nil {
			return dst, n, err
		}
		n += used
	}
	return dst, n, nil
}

func (d *ChunkedDecoder) feedCRLF(c byte) (int, *Error) {
	want := byte('\r')
	if d.state == chunkDataLF {
		want = '\n'
	}
	if c != want {
		return 0, badRequest("chunk data not followed by CRLF")
	}
	if d.state == chunkDataCR {
		d.state = chunkDataLF
	} else {
		d.state = chunkSize
	}
	return 1, nil
}

// feedLine collects a size or trailer line and handles it when complete.
func (d *ChunkedDecoder) feedLine(data []byte) (int, *Error) {
	limit := d.lim.MaxChunkLine
	if d.state == chunkTrailer {
		limit = d.lim.MaxHeaderBytes - d.trailer
	}
	i := bytes.IndexByte(data, '\n')
	end := i + 1
	if i < 0 {
		end = len(data)
	}
	if len(d.line)+end > limit {
		if d.state == chunkTrailer {
			return 0, errorf(StatusRequestHeaderFieldsTooLarge, "chunked trailer over %d bytes", d.lim.MaxHeaderBytes)
		}
		return 0, badRequest("chunk-size line too long")
	}
	d.line = append(d.line, data[:end]...)
	if i < 0 {
		return end, nil
	}
	line := d.line
	d.line = d.line[:0]
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return end, badRequest("chunked line not ending in CRLF")
	}
	line = line[:len(line)-2]
	if d.state == chunkTrailer {
		return end, d.trailerLine(line)
	}
	return end, d.sizeLine(line)
}

// sizeLine: chunk-size [ chunk-ext ], chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ).
func (d *ChunkedDecoder) sizeLine(line []byte) *Error {
	var size int64
	i := 0
	for ; i < len(line) && isHex(line[i]); i++ {
		if i == 15 {
			return badRequest("chunk size too large")
		}
		size = size<<4 | int64(unhex(line[i]))
	}
	if i == 0 {
		return badRequest("malformed chunk size")
	}
	if ext := bytes.TrimLeft(line[i:], " \t"); len(ext) > 0 && (ext[0] != ';' || !ValidFieldValue(string(ext))) {
		return badRequest("malformed chunk extension")
	}
	if d.total+size > d.lim.MaxBodyBytes {
		return errorf(StatusContentTooLarge, "body over %d bytes", d.lim.MaxBodyBytes)
	}
	d.total += size
	if size == 0 {
		d.state = chunkTrailer
		return nil
	}
	d.remaining, d.state = size, chunkData
	return nil
}

func (d *ChunkedDecoder) trailerLine(line []byte) *Error {
	d.trailer += len(line) + 2
	if len(line) == 0 {
		d.state = chunkDone
		return nil
	}
	_, err := parseField(string(line))
	return err
}

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
