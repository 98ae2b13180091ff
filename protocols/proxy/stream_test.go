package proxy_test

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"

	"netstages/protocols/proxy"
)

// bodyOrigin answers every request with the length and SHA-256 of the body
// it received and how it was framed.
func bodyOrigin(t *testing.T) *origin {
	return startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "%d %x chunked=%v", n, h.Sum(nil), len(r.TransferEncoding) > 0)
	})
}

func TestLargeRequestBodiesAreStreamed(t *testing.T) {
	is := is.New(t)
	o := bodyOrigin(t)
	p := startProxy(t, func(c *proxy.Config) { c.Limits.MaxBodyBytes = 64 << 20 })
	c := p.client(t)
	payload := strings.Repeat("0123456789", 3<<20/10) // 3 MiB
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(payload)))

	// Content-Length, over StreamThreshold.
	resp, err := c.Post(o.url+"/upload", "application/octet-stream", strings.NewReader(payload))
	is.NoErr(err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	is.Equal(string(b), fmt.Sprintf("%d %s chunked=false", len(payload), sum)) // every byte arrived

	// Chunked: the client does not know the length.
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < len(payload); i += 100000 {
			pw.Write([]byte(payload[i:min(i+100000, len(payload))]))
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", o.url+"/upload", pr)
	resp, err = c.Do(req)
	is.NoErr(err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	is.Equal(string(b), fmt.Sprintf("%d %s chunked=true", len(payload), sum)) // relayed chunked, whole

	// A request body over the limit is refused before anything is sent.
	p2 := startProxy(t, func(c *proxy.Config) { c.Limits.MaxBodyBytes = 1 << 20 })
	resp, err = p2.client(t).Post(o.url+"/upload", "application/octet-stream", strings.NewReader(payload))
	is.NoErr(err)
	resp.Body.Close()
	is.Equal(resp.StatusCode, 413)
	is.Equal(o.count.Load(), int64(2)) // the refused one never reached the origin
}

// The body of a streamed request ends where it should: the next request on
// the connection is read correctly.
func TestStreamedBodyThenPipelinedGet(t *testing.T) {
	is := is.New(t)
	o := bodyOrigin(t)
	p := startProxy(t, nil)
	c, err := net.Dial("tcp", p.addr)
	is.NoErr(err)
	defer c.Close()
	big := strings.Repeat("x", proxy.StreamThreshold*3)
	var wg sync.WaitGroup
	wg.Go(func() {
		fmt.Fprintf(c, "POST %s/a HTTP/1.1\r\nHost: o\r\nContent-Length: %d\r\n\r\n%s", o.url, len(big), big)
		fmt.Fprintf(c, "POST %s/b HTTP/1.1\r\nHost: o\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", o.url)
		fmt.Fprintf(c, "GET %s/c HTTP/1.1\r\nHost: o\r\n\r\n", o.url)
	})
	br := bufio.NewReader(c)
	for _, want := range []string{
		fmt.Sprintf("%d %x chunked=false", len(big), sha256.Sum256([]byte(big))),
		fmt.Sprintf("5 %x chunked=true", sha256.Sum256([]byte("hello"))),
		fmt.Sprintf("0 %x chunked=false", sha256.Sum256(nil)),
	} {
		resp, err := http.ReadResponse(br, nil)
		is.NoErr(err)
		b, _ := io.ReadAll(resp.Body)
		is.Equal(string(b), want) // in order, bodies intact
	}
	wg.Wait()
}

func TestConnectWithBytesBeforeThe200(t *testing.T) {
	is := is.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		fmt.Fprintf(c, "got %q", b)
	}()
	p := startProxy(t, func(c *proxy.Config) { c.ConnectPorts = proxy.Ports{portOf(t, ln.Addr().String()): true} })
	c, err := net.Dial("tcp", p.addr)
	is.NoErr(err)
	defer c.Close()
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\nearly bytes", ln.Addr(), ln.Addr()) // one write
	c.(*net.TCPConn).CloseWrite()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	is.NoErr(err)
	is.Equal(resp.StatusCode, 200)
	rest, err := io.ReadAll(br)
	is.NoErr(err)
	is.Equal(string(rest), `got "early bytes"`) // the bytes sent with the head reached the origin
}

// The origin sees the first part of a body before the client has sent the
// rest: proof that nothing waits for the whole body.
func TestBodyReachesOriginBeforeClientFinishes(t *testing.T) {
	is := is.New(t)
	firstPart := make(chan struct{})
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 1<<20)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		close(firstPart) // the first MiB is here; the client is waiting for this
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%d", int64(len(buf))+n)
	})
	p := startProxy(t, nil)
	pr, pw := io.Pipe()
	go func() {
		chunk := make([]byte, 1<<20)
		pw.Write(chunk)
		<-firstPart // a buffering proxy would never let this happen
		pw.Write(chunk)
		pw.Close()
	}()
	req, _ := http.NewRequest("PUT", o.url+"/up", pr)
	req.ContentLength = 2 << 20
	resp, err := p.client(t).Do(req)
	is.NoErr(err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	is.Equal(string(b), fmt.Sprint(2<<20))
}
