package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"

	"netstages/actors"
	"netstages/protocols/httpd"
	"netstages/protocols/proxy"
	"netstages/protocols/proxy/cache"
	"netstages/sim"
	"netstages/sim/rdt"
	"netstages/transport"
)

// viaProxy serves dir with httpd on host "origin", runs the caching proxy
// on host "proxy" (dialing origins from there) and GETs path twice from
// host "client" through it with net/http. It returns, per GET, the status,
// X-Cache and the body's SHA-256.
func viaProxy(ctx context.Context, hostNet func(string) transport.Network, dir, path string) ([]string, error) {
	files, err := httpd.New(httpd.Config{Root: dir}, nil)
	if err != nil {
		return nil, err
	}
	defer files.Close()
	oln, err := hostNet("origin").Listen(ctx, "tcp", "origin:80")
	if err != nil {
		return nil, err
	}
	origin := &actors.Server{Name: "httpd", Handle: files.Handler()}
	originDone := make(chan error, 1)
	go func() { originDone <- origin.Serve(oln) }()
	defer func() { origin.Shutdown(); <-originDone }()

	cfg := proxy.Config{Network: hostNet("proxy"), Cache: cache.New(cache.Config{}), Permit: func(net.Addr) bool { return true }}.WithDefaults()
	pln, err := hostNet("proxy").Listen(ctx, "tcp", "proxy:8888")
	if err != nil {
		return nil, err
	}
	prx := &actors.Server{Name: "proxy", Handle: proxy.Handler(cfg, nil)}
	proxyDone := make(chan error, 1)
	go func() { proxyDone <- prx.Serve(pln) }()
	defer func() { prx.Shutdown(); <-proxyDone; cfg.Pool.Close() }()

	proxyURL, _ := url.Parse("http://proxy:8888")
	tr := &nethttp.Transport{Proxy: nethttp.ProxyURL(proxyURL), DialContext: hostNet("client").DialContext}
	defer tr.CloseIdleConnections()
	var out []string
	for range 2 {
		req, _ := nethttp.NewRequestWithContext(ctx, "GET", "http://origin"+path, nil)
		resp, err := (&nethttp.Client{Transport: tr}).Do(req)
		if err != nil {
			return out, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return out, err
		}
		sum := sha256.Sum256(body)
		out = append(out, fmt.Sprintf("%d %s %d %s", resp.StatusCode, resp.Header.Get("X-Cache"), len(body), hex.EncodeToString(sum[:])))
	}
	return out, nil
}

func TestProxyOverSimIsByteExactAgainstMem(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	data := make([]byte, 100<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	is.NoErr(os.WriteFile(filepath.Join(dir, "page.bin"), data, 0o644))
	var overSim, overMem []string
	var simErr, memErr error
	var dropped uint64
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		nw := sim.New(sim.Config{Seed: 3, Settle: true})
		defer nw.Close()
		f := sim.Faults{Latency: 5 * time.Millisecond, Loss: 0.05, Duplicate: 0.02, Reorder: 0.02, Corrupt: 0.02, MTU: 1500}
		l1, _ := nw.Connect("client", "proxy", f, f)
		l2, _ := nw.Connect("proxy", "origin", f, f)
		stacks := map[string]*rdt.Stack{}
		for _, h := range []string{"client", "proxy", "origin"} {
			stacks[h], _ = rdt.New(nw.Host(h), rdt.Config{ARQ: rdt.SelectiveRepeat, Settle: true})
		}
		overSim, simErr = viaProxy(ctx, func(h string) transport.Network { return stacks[h] }, dir, "/page.bin")
		for _, s := range stacks {
			s.Wait(ctx)
		}
		dropped = l1.Stats("proxy").DroppedTotal() + l2.Stats("origin").DroppedTotal()
	})
	synctest.Test(t, func(t *testing.T) {
		memNet := memNetwork()
		overMem, memErr = viaProxy(context.Background(), func(string) transport.Network { return memNet }, dir, "/page.bin")
	})
	is.NoErr(simErr)           // both GETs through the proxy over sim
	is.NoErr(memErr)           // and over mem
	is.True(dropped > 0)       // the responses crossed lossy links
	is.Equal(overSim, overMem) // status, X-Cache, length and SHA-256 identical
	sum := sha256.Sum256(data)
	is.Equal(overSim[0], fmt.Sprintf("200 MISS %d %s", len(data), hex.EncodeToString(sum[:]))) // first from the origin
	t.Logf("over sim: %v", overSim)
}
