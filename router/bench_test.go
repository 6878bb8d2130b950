package router

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkProxy measures a GET through the router to an in-process fasthttp backend over loopback.
func BenchmarkProxy(b *testing.B) {
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	body := []byte("Hello, World!")
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBody(body) }}
	go func() { _ = up.Serve(upLn) }()
	defer func() { _ = up.Shutdown() }()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	r := New(Config{})
	r.SetApp("bench", AppConfig{})
	r.SetBackends("bench", []Backend{{ID: "b1", Addr: upLn.Addr().String()}})
	go func() { _ = r.Serve(ln) }()
	defer func() { _ = r.Shutdown(b.Context()) }()

	client := &fasthttp.HostClient{Addr: ln.Addr().String(), MaxConns: 256}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://bench.localhost/")
		for pb.Next() {
			if err := client.Do(req, resp); err != nil || resp.StatusCode() != 200 {
				b.Errorf("do: %v, status %d", err, resp.StatusCode())
				return
			}
		}
	})
}

func TestLookupDoesNotAllocate(t *testing.T) {
	r := New(Config{})
	r.SetApp("hello", AppConfig{})
	for _, host := range []string{"hello.localhost:8080", "HELLO.localhost", "nope.localhost"} {
		h := []byte(host)
		if n := testing.AllocsPerRun(100, func() { r.lookup(h) }); n != 0 {
			t.Errorf("lookup(%q) allocates %v times", host, n)
		}
	}
	if r.lookup([]byte("HeLLo.LocalHost:1")) == nil {
		t.Error("mixed-case host not routed")
	}
}
