package cache

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultHeuristicCap bounds heuristic freshness: RFC 9111 §4.2.2 leaves
// the upper limit to the cache, and a day keeps a rarely changed object from
// being trusted for months.
const DefaultHeuristicCap = 24 * time.Hour

// heuristicStatus are the status codes "defined as heuristically cacheable"
// (RFC 9110 §15.1; RFC 9111 §4.2.2).
func heuristicStatus(code int) bool {
	switch code {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// understoodStatus are the final status codes this cache understands well
// enough to store (RFC 9111 §3: "the response status code is final and is
// understood by the cache"). 206 is left out because this cache does not
// combine partial content, and 304 only ever refreshes a stored response.
func understoodStatus(code int) bool {
	switch code {
	case 200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 451, 501:
		return true
	}
	return false
}

// Storable reports whether a response to a request may be stored by a
// shared cache (RFC 9111 §3), and if not, why. reqCC and respCC are the two
// messages' parsed Cache-Control fields.
func Storable(method string, reqHeader Fields, reqCC Directives, status int, respHeader http.Header, respCC Directives) (bool, string) {
	switch {
	case method != http.MethodGet:
		return false, "method is not GET" // §3: method understood and cacheable; HEAD is answered from GET
	case !understoodStatus(status):
		return false, "status " + strconv.Itoa(status) + " not stored"
	case reqCC.NoStore:
		return false, "request no-store" // §5.2.1.5
	case respCC.NoStore:
		return false, "response no-store" // §5.2.2.5
	case respCC.Private:
		return false, "response private" // §5.2.2.7: a shared cache must not store it
	case len(reqHeader.Values("Authorization")) > 0 && !respCC.MustRevalidate && !respCC.Public && respCC.SMaxAge < 0:
		return false, "request has Authorization" // §3.5
	case strings.TrimSpace(respHeader.Get("Vary")) == "*" || hasVaryStar(respHeader):
		return false, "Vary: *" // §4.1: never matches, storing it is pointless
	}
	explicit := respCC.Public || respCC.MaxAge >= 0 || respCC.SMaxAge >= 0 || respHeader.Get("Expires") != ""
	if !explicit && !heuristicStatus(status) {
		return false, "no explicit freshness and status not heuristically cacheable" // §3
	}
	return true, ""
}

func hasVaryStar(h http.Header) bool {
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(f) == "*" {
				return true
			}
		}
	}
	return false
}

// Lifetime is a stored response's freshness lifetime (RFC 9111 §4.2.1) for
// a shared cache: s-maxage, else max-age, else Expires − Date, else the
// heuristic 10 % of Date − Last-Modified (§4.2.2) capped at heuristicCap
// when the status or public allows it, else zero. heuristic reports that the
// last rule gave the value.
func Lifetime(status int, h http.Header, cc Directives, responseTime time.Time, heuristicCap time.Duration) (life time.Duration, heuristic bool) {
	switch {
	case cc.SMaxAge >= 0:
		return seconds(cc.SMaxAge), false
	case cc.MaxAge >= 0:
		return seconds(cc.MaxAge), false
	}
	date := dateValue(h, responseTime)
	if exp := h.Values("Expires"); len(exp) > 0 {
		t, err := http.ParseTime(exp[0])
		if err != nil {
			return 0, false // §5.3: an invalid Expires, such as "0", is in the past
		}
		return max(t.Sub(date), 0), false
	}
	if !heuristicStatus(status) && !cc.Public {
		return 0, false
	}
	lm, err := http.ParseTime(h.Get("Last-Modified"))
	if err != nil || !lm.Before(date) {
		return 0, false
	}
	return min(date.Sub(lm)/10, heuristicCap), true
}

// dateValue is the Date field, or the response time when it is missing or
// invalid (RFC 9110 §6.6.1: a recipient with a clock assigns one).
func dateValue(h http.Header, responseTime time.Time) time.Time {
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		return t
	}
	return responseTime
}

// ageValue is the Age field in seconds; absent or invalid gives 0
// (RFC 9111 §5.1).
func ageValue(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Age"))
	if v == "" {
		return 0
	}
	n := parseDelta(v)
	return seconds(n)
}

// CurrentAge computes a stored response's age now (RFC 9111 §4.2.3):
//
//	apparent_age = max(0, response_time - date_value)
//	response_delay = response_time - request_time
//	corrected_age_value = age_value + response_delay
//	corrected_initial_age = max(apparent_age, corrected_age_value)
//	resident_time = now - response_time
//	current_age = corrected_initial_age + resident_time
//
// Date has whole seconds, so response_time is taken in whole seconds too
// when compared with it: a Date written by this proxy's own clock (for a
// response that came without one) must give an apparent age of 0, not the
// fraction of a second its formatting dropped.
func CurrentAge(h http.Header, requestTime, responseTime, now time.Time) time.Duration {
	apparent := max(responseTime.Truncate(time.Second).Sub(dateValue(h, responseTime)), 0)
	delay := max(responseTime.Sub(requestTime), 0)
	corrected := ageValue(h) + delay
	initial := max(apparent, corrected)
	resident := max(now.Sub(responseTime), 0)
	return initial + resident
}

func seconds(n int64) time.Duration { return time.Duration(n) * time.Second }

// AgeHeader formats an age for the Age field: whole seconds, rounded down.
func AgeHeader(age time.Duration) string {
	return strconv.FormatInt(int64(age/time.Second), 10)
}
