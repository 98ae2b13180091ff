package cache

import (
	"strconv"
	"strings"
)

// MaxDelta is the largest delta-seconds value kept: RFC 9111 §1.2.2 says a
// larger value, or one that overflows, is taken as 2^31.
const MaxDelta = 1 << 31

// Directives are the Cache-Control directives this cache acts on
// (RFC 9111 §5.2). A numeric directive's value is -1 when it is absent.
type Directives struct {
	// Request and response directives.
	NoCache  bool  // §5.2.1.4, §5.2.2.4
	NoStore  bool  // §5.2.1.5, §5.2.2.5
	MaxAge   int64 // §5.2.1.1, §5.2.2.1
	NoTransf bool  // §5.2.1.6, §5.2.2.6 (no-transform; this cache never transforms)

	// Request directives.
	MaxStale     int64 // §5.2.1.2; MaxDelta when given without a value
	MinFresh     int64 // §5.2.1.3
	OnlyIfCached bool  // §5.2.1.7

	// Response directives.
	MustRevalidate  bool  // §5.2.2.2
	ProxyRevalidate bool  // §5.2.2.8
	Private         bool  // §5.2.2.7
	Public          bool  // §5.2.2.9
	SMaxAge         int64 // §5.2.2.10
	Extension       bool  // some directive this cache does not know (§5.2.3)
}

// ParseCacheControl parses every Cache-Control field line of a message
// (values as received, one per line). It never fails: unknown directives are
// noted as extensions, a repeated directive keeps its first value, and an
// invalid delta-seconds value counts as 0, which makes a response stale
// rather than fresh for longer than its origin meant (RFC 9111 §4.2.1).
func ParseCacheControl(values []string) Directives {
	d := Directives{MaxAge: -1, MaxStale: -1, MinFresh: -1, SMaxAge: -1}
	for _, v := range values {
		for len(v) > 0 {
			var name, arg string
			var hasArg bool
			name, arg, hasArg, v = nextDirective(v)
			if name != "" {
				d.set(strings.ToLower(name), arg, hasArg)
			}
		}
	}
	return d
}

func (d *Directives) set(name, arg string, hasArg bool) {
	switch name {
	case "no-cache":
		d.NoCache = true
	case "no-store":
		d.NoStore = true
	case "no-transform":
		d.NoTransf = true
	case "only-if-cached":
		d.OnlyIfCached = true
	case "must-revalidate":
		d.MustRevalidate = true
	case "proxy-revalidate":
		d.ProxyRevalidate = true
	case "private":
		d.Private = true
	case "public":
		d.Public = true
	case "max-age":
		setDelta(&d.MaxAge, arg)
	case "s-maxage":
		setDelta(&d.SMaxAge, arg)
	case "min-fresh":
		setDelta(&d.MinFresh, arg)
	case "max-stale":
		if !hasArg {
			if d.MaxStale < 0 {
				d.MaxStale = MaxDelta
			}
			return
		}
		setDelta(&d.MaxStale, arg)
	default:
		d.Extension = true
	}
}

// setDelta sets *dst from a delta-seconds argument unless it is already set.
func setDelta(dst *int64, arg string) {
	if *dst >= 0 {
		return // first occurrence wins
	}
	*dst = parseDelta(arg)
}

// parseDelta reads delta-seconds (1*DIGIT, RFC 9111 §1.2.2); anything else
// gives 0, an overflow gives MaxDelta.
func parseDelta(s string) int64 {
	if s == "" {
		return 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > MaxDelta {
		return MaxDelta
	}
	return n
}

// nextDirective cuts one directive off a Cache-Control list:
// token [ "=" ( token / quoted-string ) ], separated by commas with optional
// whitespace (RFC 9110 §5.6.1). A quoted argument may hold commas.
func nextDirective(s string) (name, arg string, hasArg bool, rest string) {
	s = strings.TrimLeft(s, " \t,")
	i := 0
	for i < len(s) && s[i] != '=' && s[i] != ',' {
		i++
	}
	name = strings.TrimSpace(s[:i])
	if i == len(s) || s[i] == ',' {
		return name, "", false, s[i:]
	}
	s = strings.TrimLeft(s[i+1:], " \t")
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		j := 1
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] == '\\' && j+1 < len(s) {
				j++
			}
			b.WriteByte(s[j])
		}
		rest = s[min(j+1, len(s)):]
		if k := strings.IndexByte(rest, ','); k >= 0 {
			rest = rest[k:]
		} else {
			rest = ""
		}
		return name, b.String(), true, rest
	}
	j := strings.IndexByte(s, ',')
	if j < 0 {
		j = len(s)
	}
	return name, strings.TrimSpace(s[:j]), true, s[j:]
}
