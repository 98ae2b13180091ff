package httpd_test

import (
	"strings"
	"testing"

	"github.com/matryer/is"

	"netstages/protocols/httpd"
	"netstages/transport/mem"
)

// The 301 page for /dir → /dir/ carries the client's raw query: it must be
// escaped in the HTML (no markup injection) and kept as sent in Location.
func TestRedirectPageEscapesTheQuery(t *testing.T) {
	root := docroot(t)
	inBubble(t, httpd.Config{Root: root}, func(t *testing.T, n *mem.Network, addr string) {
		is := is.New(t)
		resps, bodies := exchange(t, n, addr, get(`/sub?"><script>x</script>&a=1`))
		is.Equal(len(resps), 1)                                                                                  // one answer
		is.Equal(resps[0].StatusCode, 301)                                                                       // a redirect
		is.Equal(resps[0].Header.Get("Location"), `/sub/?"><script>x</script>&a=1`)                              // Location as sent
		is.True(!strings.Contains(bodies[0], "<script>"))                                                        // no markup from the client
		is.True(strings.Contains(bodies[0], `<a href="/sub/?&#34;&gt;&lt;script&gt;x&lt;/script&gt;&amp;a=1">`)) // escaped href
		is.Equal(resps[0].ContentLength, int64(len(bodies[0])))                                                  // Content-Length counts the escaped page
	})
}
