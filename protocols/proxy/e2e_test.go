package proxy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"netstages/protocols/proxy"
	"netstages/transport"
)

func get(t *testing.T, c *http.Client, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s body: %v", url, err)
	}
	return resp, string(b)
}

func TestMissThenHitSendsNothingUpstream(t *testing.T) {
	is := is.New(t)
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		io.WriteString(w, "hello from origin")
	})
	p := startProxy(t, nil)
	c := p.client(t)
	resp, body := get(t, c, o.url+"/a")
	is.Equal(resp.StatusCode, 200)
	is.Equal(body, "hello from origin")
	is.Equal(resp.Header.Get("X-Cache"), "MISS")
	is.True(strings.Contains(resp.Header.Get("Via"), "1.1 netstages")) // Via added
	is.True(resp.Header.Get("Date") != "")                             // added: the origin sent none
	p.clock.Advance(10 * time.Second)
	resp, body = get(t, c, o.url+"/a")
	is.Equal(body, "hello from origin")
	is.Equal(resp.Header.Get("X-Cache"), "HIT")
	is.Equal(resp.Header.Get("Age"), "10") // RFC 9111 §4.2.3
	is.Equal(o.count.Load(), int64(1))     // a hit sends nothing upstream
	req := o.requests()[0]
	is.Equal(req.Host, o.ln.Addr().String())                      // Host set from the target
	is.Equal(req.RequestURI, "/a")                                // origin-form upstream
	is.True(strings.Contains(req.Header.Get("Via"), "netstages")) // Via on the request too
	is.Equal(req.Header.Get("Proxy-Connection"), "")              // hop-by-hop gone
	is.Equal(p.stats.Hits.Load(), uint64(1))
	is.Equal(p.stats.Misses.Load(), uint64(1))
	// HEAD is answered from the stored GET.
	hreq, _ := http.NewRequest("HEAD", o.url+"/a", nil)
	hresp, err := c.Do(hreq)
	is.NoErr(err)
	hresp.Body.Close()
	is.Equal(hresp.Header.Get("X-Cache"), "HIT")
	is.Equal(hresp.ContentLength, int64(len("hello from origin")))
	is.Equal(o.count.Load(), int64(1))
}

func TestStaleEntrySendsOneConditionalRequest(t *testing.T) {
	is := is.New(t)
	lm := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", lm)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.Header().Set("X-Refreshed", "yes")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "stored body")
	})
	p := startProxy(t, nil)
	c := p.client(t)
	get(t, c, o.url+"/r")
	p.clock.Advance(2 * time.Minute) // stale now
	resp, body := get(t, c, o.url+"/r")
	is.Equal(resp.StatusCode, 200)
	is.Equal(body, "stored body")                       // §4.3.4: the stored body is served
	is.Equal(resp.Header.Get("X-Cache"), "REVALIDATED") //
	is.Equal(resp.Header.Get("X-Refreshed"), "yes")     // §4.3.4: the 304's fields refresh the entry
	is.Equal(o.count.Load(), int64(2))                  // exactly one conditional request
	cond := o.requests()[1]
	is.Equal(cond.Header.Get("If-None-Match"), `"v1"`) // §4.3.1 from ETag
	is.Equal(cond.Header.Get("If-Modified-Since"), lm) // §4.3.1 from Last-Modified
	resp, _ = get(t, c, o.url+"/r")
	is.Equal(resp.Header.Get("X-Cache"), "HIT") // fresh again after the 304
	is.Equal(o.count.Load(), int64(2))
	// Request directives force revalidation (RFC 9111 §5.2.1.1, §5.2.1.4).
	resp, _ = get(t, c, o.url+"/r", "Cache-Control", "max-age=0")
	is.Equal(resp.Header.Get("X-Cache"), "REVALIDATED")
	resp, _ = get(t, c, o.url+"/r", "Cache-Control", "no-cache")
	is.Equal(resp.Header.Get("X-Cache"), "REVALIDATED")
	is.Equal(o.count.Load(), int64(4))
	// The client's own matching If-None-Match on a hit gets 304.
	resp, _ = get(t, c, o.url+"/r", "If-None-Match", `"v1"`)
	is.Equal(resp.StatusCode, 304)
	is.Equal(o.count.Load(), int64(4))
}

// SEED: "a 200 on revalidation hangs it".
func TestRevalidationAnsweredWith200ReplacesTheEntry(t *testing.T) {
	is := is.New(t)
	var mu sync.Mutex
	version := 1
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		v := version
		mu.Unlock()
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, v))
		fmt.Fprintf(w, "version %d", v) // ignores If-None-Match: always a full 200
	})
	p := startProxy(t, nil)
	c := p.client(t)
	_, body := get(t, c, o.url+"/x")
	is.Equal(body, "version 1")
	mu.Lock()
	version = 2
	mu.Unlock()
	p.clock.Advance(2 * time.Minute)
	resp, body := get(t, c, o.url+"/x")
	is.Equal(body, "version 2") // §4.3.3: the full response is used
	is.Equal(resp.Header.Get("X-Cache"), "MISS")
	resp, body = get(t, c, o.url+"/x")
	is.Equal(body, "version 2") // and replaced the entry
	is.Equal(resp.Header.Get("X-Cache"), "HIT")
	is.Equal(p.cache.Stats().Entries, 1)
}

func TestHundredConcurrentMissesSendOneRequest(t *testing.T) {
	is := is.New(t)
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond) // let the others pile up
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, strings.Repeat("z", 5000))
	})
	p := startProxy(t, nil)
	c := p.client(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	hits := 0
	for range 100 {
		wg.Go(func() {
			resp, body := get(t, c, o.url+"/popular")
			if len(body) != 5000 {
				t.Errorf("body of %d bytes", len(body))
			}
			mu.Lock()
			if resp.Header.Get("X-Cache") == "HIT" {
				hits++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	is.Equal(o.count.Load(), int64(1)) // collapsed forwarding: one upstream request
	is.Equal(hits, 99)                 // the others were served from it
}

func TestBodiesFramedEveryWayArriveWhole(t *testing.T) {
	is := is.New(t)
	big := strings.Repeat("0123456789abcdef", 8192) // 128 KiB
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Header().Set("Cache-Control", "max-age=60")
			for i := 0; i < len(big); i += 10000 {
				io.WriteString(w, big[i:min(i+10000, len(big))])
				w.(http.Flusher).Flush() // forces chunked coding
			}
		case "/close":
			// An HTTP/1.0-style close-delimited response, written raw.
			conn, buf, _ := w.(http.Hijacker).Hijack()
			buf.WriteString("HTTP/1.0 200 OK\r\nCache-Control: max-age=60\r\n\r\n" + big)
			buf.Flush()
			conn.Close()
		case "/large":
			w.Header().Set("Cache-Control", "max-age=60")
			io.WriteString(w, strings.Repeat(big, 10)) // 1.25 MiB, over MaxObject (1 MiB)
		}
	})
	p := startProxy(t, nil)
	c := p.client(t)
	for _, path := range []string{"/chunked", "/close"} {
		resp, body := get(t, c, o.url+path)
		is.Equal(resp.Header.Get("X-Cache"), "MISS")
		is.Equal(len(body), len(big)) // SEED: chunked and close-delimited were truncated
		is.Equal(body, big)
		resp, body = get(t, c, o.url+path)
		is.Equal(resp.Header.Get("X-Cache"), "HIT") // stored decoded, served with Content-Length
		is.Equal(body, big)
	}
	for range 2 {
		resp, body := get(t, c, o.url+"/large")
		is.Equal(len(body), 10*len(big))             // streamed through
		is.Equal(resp.Header.Get("X-Cache"), "MISS") // not stored: over -max-object-size
	}
}

// SEED: "an origin that is down or a bad host name kills the proxy".
func TestDeadOriginIs502AndTheProxyLivesOn(t *testing.T) {
	is := is.New(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	p := startProxy(t, nil)
	c := p.client(t)
	resp, body := get(t, c, dead+"/x")
	is.Equal(resp.StatusCode, 502)
	is.True(strings.Contains(body, "connect to"))       // says what failed
	resp, _ = get(t, c, "http://no-such-host.invalid/") // bad host name
	is.Equal(resp.StatusCode, 502)
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "alive") })
	_, body = get(t, c, o.url+"/")
	is.Equal(body, "alive") // still serving
	is.Equal(p.stats.UpstreamErrors.Load(), uint64(2))
}

func TestSlowOriginIs504(t *testing.T) {
	is := is.New(t)
	release := make(chan struct{})
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	p := startProxy(t, func(c *proxy.Config) { c.UpstreamTimeout = 200 * time.Millisecond })
	resp, body := get(t, p.client(t), o.url+"/slow")
	is.Equal(resp.StatusCode, 504)
	is.True(strings.Contains(body, "timeout")) // short clear body
}

func TestOnlyIfCachedMissIs504(t *testing.T) {
	is := is.New(t)
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })
	p := startProxy(t, nil)
	resp, _ := get(t, p.client(t), o.url+"/never", "Cache-Control", "only-if-cached")
	is.Equal(resp.StatusCode, 504)     // RFC 9111 §5.2.1.7
	is.Equal(o.count.Load(), int64(0)) // nothing went upstream
}

func TestUnsafeMethodInvalidatesAndBodyIsForwarded(t *testing.T) {
	is := is.New(t)
	var mu sync.Mutex
	var posted string
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			posted = string(b)
			mu.Unlock()
			io.WriteString(w, "created")
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "doc")
	})
	p := startProxy(t, nil)
	c := p.client(t)
	get(t, c, o.url+"/doc")
	resp, _ := get(t, c, o.url+"/doc")
	is.Equal(resp.Header.Get("X-Cache"), "HIT")
	presp, err := c.Post(o.url+"/doc", "text/plain", strings.NewReader("new content"))
	is.NoErr(err)
	b, _ := io.ReadAll(presp.Body)
	presp.Body.Close()
	is.Equal(string(b), "created")
	mu.Lock()
	is.Equal(posted, "new content") // request body forwarded
	mu.Unlock()
	resp, _ = get(t, c, o.url+"/doc")
	is.Equal(resp.Header.Get("X-Cache"), "MISS") // RFC 9111 §4.4: POST invalidated it
}

func TestVaryKeepsVariantsApart(t *testing.T) {
	is := is.New(t)
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, "lang="+r.Header.Get("Accept-Language"))
	})
	p := startProxy(t, nil)
	c := p.client(t)
	_, b := get(t, c, o.url+"/v", "Accept-Language", "fr")
	is.Equal(b, "lang=fr")
	_, b = get(t, c, o.url+"/v", "Accept-Language", "de")
	is.Equal(b, "lang=de") // a different variant, not the French one
	resp, b := get(t, c, o.url+"/v", "Accept-Language", "fr")
	is.Equal(b, "lang=fr")
	is.Equal(resp.Header.Get("X-Cache"), "HIT")
	is.Equal(o.count.Load(), int64(2))
}

func TestNoStoreAndPrivateAreNotStored(t *testing.T) {
	is := is.New(t)
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", strings.TrimPrefix(r.URL.Path, "/"))
		io.WriteString(w, "x")
	})
	p := startProxy(t, nil)
	c := p.client(t)
	for _, cc := range []string{"no-store", "private"} {
		get(t, c, o.url+"/"+cc)
		resp, _ := get(t, c, o.url+"/"+cc)
		is.Equal(resp.Header.Get("X-Cache"), "MISS") // never stored
	}
	is.Equal(o.count.Load(), int64(4))
}

func TestRefusedClientGets403(t *testing.T) {
	is := is.New(t)
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })
	p := startProxy(t, func(c *proxy.Config) { c.Permit = func(net.Addr) bool { return false } })
	// A raw client: the 403 comes at accept time, before the request is
	// read, which Go's http.Client reports as an unsolicited response.
	c, err := net.Dial("tcp", p.addr)
	is.NoErr(err) // dial the proxy
	defer c.Close()
	io.WriteString(c, "GET "+o.url+"/ HTTP/1.1\r\nHost: origin\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	is.NoErr(err) // an answer, not a hang
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	is.Equal(resp.StatusCode, 403)
	is.True(strings.Contains(string(body), "not allowed"))
	is.Equal(o.count.Load(), int64(0)) // nothing reached the origin
}

func TestMalformedRequestsGet400(t *testing.T) {
	is := is.New(t)
	p := startProxy(t, nil)
	for _, raw := range []string{
		"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n",          // not a proxy request
		"GET https://example.org/ HTTP/1.1\r\nHost: x\r\n\r\n", // https needs CONNECT
		"BLAH\r\n\r\n",
		"GET http://a b/ HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		c, err := net.Dial("tcp", p.addr)
		is.NoErr(err)
		io.WriteString(c, raw)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		is.NoErr(err) // an answer, not a hang
		is.Equal(resp.StatusCode, 400)
		resp.Body.Close()
		c.Close()
	}
}

// SEED: "a client that connects and closes spins it at 100% CPU".
func TestConnectAndCloseEndsEachConnection(t *testing.T) {
	p := startProxy(t, nil)
	for i := range 200 {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			c.(*net.TCPConn).SetLinger(0)
		}
		c.Close()
	}
	waitFor(t, func() bool { return p.srv.Active() == 0 })
	waitFor(t, func() bool { return p.meter.Snapshot().Finished == 200 })
}

func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	is := is.New(t)
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, r.URL.Path)
	})
	p := startProxy(t, nil)
	c, err := net.Dial("tcp", p.addr)
	is.NoErr(err)
	defer c.Close()
	var burst strings.Builder
	for _, path := range []string{"/1", "/2", "/1", "/3"} {
		fmt.Fprintf(&burst, "GET %s%s HTTP/1.1\r\nHost: x\r\n\r\n", o.url, path)
	}
	io.WriteString(c, burst.String())
	br := bufio.NewReader(c)
	for _, want := range []string{"/1", "/2", "/1", "/3"} {
		resp, err := http.ReadResponse(br, nil)
		is.NoErr(err)
		b, _ := io.ReadAll(resp.Body)
		is.Equal(string(b), want) // in order
	}
}

func TestHTTP10ClientGetsChunkedBodyDecodedAndClosed(t *testing.T) {
	is := is.New(t)
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "part one, ")
		w.(http.Flusher).Flush() // chunked to the proxy
		io.WriteString(w, "part two")
	})
	p := startProxy(t, nil)
	c, err := net.Dial("tcp", p.addr)
	is.NoErr(err)
	defer c.Close()
	fmt.Fprintf(c, "GET %s/old HTTP/1.0\r\n\r\n", o.url)
	raw, err := io.ReadAll(c) // the proxy closes to end the body
	is.NoErr(err)
	head, body, _ := strings.Cut(string(raw), "\r\n\r\n")
	is.True(!strings.Contains(strings.ToLower(head), "transfer-encoding")) // HTTP/1.0 has no chunked coding
	is.True(strings.Contains(head, "Connection: close"))
	is.Equal(body, "part one, part two")
}

// SEED: "port always 80": the origin here is on a random high port, and the
// Host field the origin sees keeps it.
func TestNonDefaultPortIsKept(t *testing.T) {
	is := is.New(t)
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Host) })
	p := startProxy(t, nil)
	_, body := get(t, p.client(t), o.url+"/")
	is.Equal(body, o.ln.Addr().String()) // host:port reached and passed on
}

// An origin that sends bytes past the end of a response must not have its
// connection reused: the extra bytes would be read as the next response.
func TestOriginSendingExtraBytesIsNotReused(t *testing.T) {
	is := is.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	defer ln.Close()
	accepted := make(chan int, 4)
	go func() {
		for n := 1; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- n
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfalse")
				}
			}()
		}
	}()
	p := startProxy(t, nil)
	c := p.client(t)
	for range 2 {
		_, body := get(t, c, "http://"+ln.Addr().String()+"/")
		is.Equal(body, "ok") // never the smuggled "false"
	}
	is.Equal(len(accepted), 2) // a fresh origin connection the second time
}

// A refused upload still gets its answer: the proxy reads and drops the
// rest of the body for a moment instead of resetting the connection.
func TestRefusedUploadGetsItsAnswer(t *testing.T) {
	is := is.New(t)
	p := startProxy(t, func(c *proxy.Config) { c.Permit = func(net.Addr) bool { return false } })
	for range 5 {
		c, err := net.Dial("tcp", p.addr)
		is.NoErr(err)
		body := strings.Repeat("u", 4<<20)
		// The whole upload is written before the answer is read, as a
		// simple client does; the write may fail once the proxy stops reading.
		fmt.Fprintf(c, "POST http://127.0.0.1:1/up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		is.NoErr(err) // the answer arrives, not a reset
		is.Equal(resp.StatusCode, 403)
		c.Close()
	}
}

// Misses for a URL whose responses cannot be stored do not queue behind
// each other: after the first answer marks it (hit-for-pass), concurrent
// requests reach the origin side by side.
func TestUncacheableMissesAreNotSerialized(t *testing.T) {
	is := is.New(t)
	var mu sync.Mutex
	inflight, most := 0, 0
	together := make(chan struct{})
	var once sync.Once
	var seen, lonely atomic.Int64
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inflight++
		most = max(most, inflight)
		if inflight >= 5 {
			once.Do(func() { close(together) })
		}
		mu.Unlock()
		if o := seen.Add(1); o > 1 { // after the first request
			select { // wait for company; a serializing proxy never sends it
			case <-together:
			case <-time.After(3 * time.Second):
				lonely.Add(1)
			}
		}
		mu.Lock()
		inflight--
		mu.Unlock()
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "fresh every time")
	})
	p := startProxy(t, nil)
	c := p.client(t)
	get(t, c, o.url+"/live") // marks the URL not storable
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() { get(t, c, o.url+"/live") })
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	is.Equal(most, 5)                 // all five were at the origin at once
	is.Equal(lonely.Load(), int64(0)) // none waited there alone
}

// redirectNet dials every address at one local origin and records what it
// was asked for, so a test can see which host and port the proxy dialled.
type redirectNet struct {
	transport.System
	to     string
	mu     sync.Mutex
	dialed []string
}

func (n *redirectNet) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	n.dialed = append(n.dialed, addr)
	n.mu.Unlock()
	return n.System.DialContext(ctx, network, n.to)
}

// SEED: "lstrip("http://") mangles host names (httpbin.org → bin.org)" and
// "port always 80".
func TestHostNamesAndPortsArriveIntact(t *testing.T) {
	is := is.New(t)
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Host+" "+r.RequestURI) })
	rn := &redirectNet{to: o.ln.Addr().String()}
	p := startProxy(t, func(c *proxy.Config) { c.Network = rn })
	c := p.client(t)
	_, body := get(t, c, "http://httpbin.org/get?x=1")
	is.Equal(body, "httpbin.org /get?x=1") // Host and path as asked
	_, body = get(t, c, "http://hTTpbin.org:8080/anything")
	is.Equal(body, "httpbin.org:8080 /anything")
	rn.mu.Lock()
	defer rn.mu.Unlock()
	is.Equal(rn.dialed, []string{"httpbin.org:80", "httpbin.org:8080"}) // the right host, the right port
}
