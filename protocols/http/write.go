package http

import (
	"strconv"
	"sync/atomic"
	"time"
)

// TimeFormat is the IMF-fixdate format of Date, Last-Modified and
// If-Modified-Since (RFC 9110 §5.6.7), always in GMT.
const TimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// AppendStatusLine appends "HTTP/major.minor code reason\r\n".
func AppendStatusLine(dst []byte, major, minor, code int) []byte {
	dst = append(dst, "HTTP/"...)
	dst = append(dst, byte('0'+major), '.', byte('0'+minor), ' ')
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	dst = append(dst, StatusText(code)...)
	return append(dst, "\r\n"...)
}

// AppendField appends "name: value\r\n". It trusts its arguments: a server
// writes names it chose, and values from outside must pass ValidFieldValue
// first (CR or LF in a value would split the response).
func AppendField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// AppendIntField appends "name: n\r\n" without allocating.
func AppendIntField(dst []byte, name string, n int64) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, "\r\n"...)
}

// AppendTime appends t in IMF-fixdate form.
func AppendTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, TimeFormat)
}

// ParseTime parses an HTTP date in IMF-fixdate, or the obsolete RFC 850 and
// asctime forms a recipient must accept (RFC 9110 §5.6.7).
func ParseTime(s string) (time.Time, bool) {
	for _, layout := range []string{TimeFormat, "Monday, 02-Jan-06 15:04:05 GMT", "Mon Jan _2 15:04:05 2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// DateCache formats the Date field once per second for every connection of
// a server; it is safe for concurrent use.
type DateCache struct {
	now  func() time.Time
	last atomic.Pointer[cachedDate]
}

type cachedDate struct {
	sec  int64
	text []byte
}

// NewDateCache returns a cache that reads the time from now (time.Now if nil).
func NewDateCache(now func() time.Time) *DateCache {
	if now == nil {
		now = time.Now
	}
	return &DateCache{now: now}
}

// Append appends the current date in IMF-fixdate form.
func (c *DateCache) Append(dst []byte) []byte {
	t := c.now()
	sec := t.Unix()
	if d := c.last.Load(); d != nil && d.sec == sec {
		return append(dst, d.text...)
	}
	d := &cachedDate{sec: sec, text: AppendTime(nil, t)}
	c.last.Store(d)
	return append(dst, d.text...)
}
