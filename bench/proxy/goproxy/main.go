// Command goproxy is the miss-path baseline for bench/proxy: a forward proxy
// (absolute-form requests only, no cache) built on net/http/httputil's
// ReverseProxy, with a Transport that keeps enough idle connections per
// origin (MaxIdleConnsPerHost) for the benchmark's client count; the default
// of 2 would make it dial a new origin connection for most requests.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18292", "listen address")
	idle := flag.Int("max-idle-per-host", 256, "Transport.MaxIdleConnsPerHost")
	flag.Parse()
	tr := &http.Transport{MaxIdleConns: *idle, MaxIdleConnsPerHost: *idle, IdleConnTimeout: 90 * time.Second}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.Out.URL = r.In.URL; r.Out.Host = r.In.Host },
		Transport: tr,
	}
	srv := &http.Server{Addr: *addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.IsAbs() {
			http.Error(w, "absolute-form requests only", http.StatusBadRequest)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	log.Fatal(srv.ListenAndServe())
}
