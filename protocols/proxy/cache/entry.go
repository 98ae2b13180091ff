package cache

import (
	"net/http"
	"strings"
	"time"
)

// Fields is a request's header fields as the cache reads them: every value
// of a field, by name, compared case-insensitively. net/http.Header and the
// wire package's ordered Header both have this method, so a lookup needs no
// conversion.
type Fields interface {
	Values(name string) []string
}

// Entry is one stored response. An Entry is immutable once stored: the
// cache and any number of readers share it without locks, so nobody may
// change its Header or Body after Store. To change one, make a new Entry
// (see Refreshed).
type Entry struct {
	// Key is the primary cache key, the target URI (RFC 9111 §2).
	Key string
	// Status and Reason are the response's status code and reason phrase.
	Status int
	Reason string
	// Header holds the stored response's fields, hop-by-hop fields already
	// removed (RFC 9111 §3.1).
	Header http.Header
	// Body is the whole response content.
	Body []byte
	// RequestTime is when the request that produced the response was sent,
	// ResponseTime when the response head arrived (RFC 9111 §4.2.3).
	RequestTime, ResponseTime time.Time
	// Head is an optional serialization of the status line and fields made
	// by whoever stores the entry, so that a hit does not format it again;
	// the cache keeps it and never reads it.
	Head []byte

	cc         Directives
	initialAge time.Duration // corrected_initial_age (RFC 9111 §4.2.3), fixed at store time
	life       time.Duration // freshness lifetime, before the heuristic cap
	heuristic  bool          // life came from the heuristic (§4.2.2)
	varyNames  []string      // canonical field names listed in Vary
	varyVals   []string      // the request's normalized values of those fields
}

// NewEntry builds an entry for a response to a request with header
// reqHeader; Vary's secondary key is taken from reqHeader (RFC 9111 §4.1).
func NewEntry(key string, status int, reason string, header http.Header, body []byte, reqHeader Fields, requestTime, responseTime time.Time) *Entry {
	e := &Entry{Key: key, Status: status, Reason: reason, Header: header, Body: body,
		RequestTime: requestTime, ResponseTime: responseTime}
	e.index(reqHeader)
	return e
}

func (e *Entry) index(reqHeader Fields) {
	e.cc = ParseCacheControl(e.Header.Values("Cache-Control"))
	// Dates are parsed once here, not on every hit.
	e.initialAge = CurrentAge(e.Header, e.RequestTime, e.ResponseTime, e.ResponseTime)
	e.life, e.heuristic = Lifetime(e.Status, e.Header, e.cc, e.ResponseTime, time.Duration(1<<63-1))
	e.varyNames, e.varyVals = nil, nil
	for _, v := range e.Header.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				name := http.CanonicalHeaderKey(f)
				e.varyNames = append(e.varyNames, name)
				e.varyVals = append(e.varyVals, normalizeField(reqHeader.Values(name)))
			}
		}
	}
}

// normalizeField joins a field's lines and drops whitespace around list
// items, the normalization RFC 9111 §4.1 allows before comparing.
func normalizeField(values []string) string {
	var b strings.Builder
	for i, v := range values {
		for j, item := range strings.Split(v, ",") {
			if i+j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.TrimSpace(item))
		}
	}
	return b.String()
}

// Matches reports whether the entry can answer a request with header
// reqHeader: every field named by Vary has the same normalized value
// (RFC 9111 §4.1).
func (e *Entry) Matches(reqHeader Fields) bool {
	for i, name := range e.varyNames {
		if normalizeField(reqHeader.Values(name)) != e.varyVals[i] {
			return false
		}
	}
	return true
}

// sameVariant reports whether two entries have the same secondary key.
func (e *Entry) sameVariant(o *Entry) bool {
	if len(e.varyNames) != len(o.varyNames) {
		return false
	}
	for i := range e.varyNames {
		if e.varyNames[i] != o.varyNames[i] || e.varyVals[i] != o.varyVals[i] {
			return false
		}
	}
	return true
}

// Directives returns the stored response's Cache-Control directives.
func (e *Entry) Directives() Directives { return e.cc }

// Size is what the entry counts against the cache's byte budget.
func (e *Entry) Size() int64 {
	n := int64(len(e.Body) + len(e.Key) + len(e.Head) + 256)
	for k, vs := range e.Header {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 4)
		}
	}
	return n
}

// Age is the entry's current age at now (RFC 9111 §4.2.3).
func (e *Entry) Age(now time.Time) time.Duration {
	return e.initialAge + max(now.Sub(e.ResponseTime), 0)
}

// Lifetime is the entry's freshness lifetime (RFC 9111 §4.2.1).
func (e *Entry) Lifetime(heuristicCap time.Duration) time.Duration {
	if e.heuristic {
		return min(e.life, heuristicCap)
	}
	return e.life
}

// Validators returns the values for a conditional request that revalidates
// the entry (RFC 9111 §4.3.1): If-None-Match from ETag and
// If-Modified-Since from Last-Modified; empty when the entry has none.
func (e *Entry) Validators() (ifNoneMatch, ifModifiedSince string) {
	return e.Header.Get("ETag"), e.Header.Get("Last-Modified")
}

// Refreshed returns a copy of the entry updated by a 304 (Not Modified)
// response (RFC 9111 §4.3.4): each field of the 304 replaces the stored one
// of the same name, except Content-Length (§3.2); hop-by-hop fields must
// already be gone from h. The body is kept, the times are the new exchange's.
// Head is cleared: the caller formats it again.
func (e *Entry) Refreshed(h http.Header, reqHeader Fields, requestTime, responseTime time.Time) *Entry {
	n := &Entry{Key: e.Key, Status: e.Status, Reason: e.Reason, Header: e.Header.Clone(), Body: e.Body,
		RequestTime: requestTime, ResponseTime: responseTime}
	for name, vs := range h {
		if http.CanonicalHeaderKey(name) == "Content-Length" {
			continue
		}
		n.Header[http.CanonicalHeaderKey(name)] = append([]string(nil), vs...)
	}
	n.index(reqHeader)
	return n
}
