// Command fasthttpbare is the benchmark's reference ceiling: the smallest possible fasthttp reverse
// proxy (no routing, timeouts, headers or accounting), to show what fnrun's router adds on top.
package main

import (
	"flag"
	"log"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18185", "listen address")
	backend := flag.String("backend", "127.0.0.1:18181", "backend host:port")
	flag.Parse()
	client := &fasthttp.HostClient{Addr: *backend, MaxConns: 1024}
	log.Fatal(fasthttp.ListenAndServe(*listen, func(ctx *fasthttp.RequestCtx) {
		if err := client.Do(&ctx.Request, &ctx.Response); err != nil {
			ctx.SetStatusCode(fasthttp.StatusBadGateway)
		}
	}))
}
