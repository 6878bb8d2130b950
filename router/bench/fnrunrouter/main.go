// Command fnrunrouter runs fnrun's router with one app and one backend, for benchmarks.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/fnrun/fnrun/router"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18080", "listen address")
	app := flag.String("app", "bench", "app id (served at <app>.localhost)")
	backends := flag.String("backend", "127.0.0.1:18081", "comma-separated backend host:port list")
	policy := flag.String("policy", "p2c", "p2c or round-robin")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here until SIGINT/SIGTERM")
	flag.Parse()
	if *cpuprofile != "" {
		stop := profileCPU(*cpuprofile)
		defer stop()
	}

	r := router.New(router.Config{Policy: *policy})
	r.SetApp(*app, router.AppConfig{})
	var ready []router.Backend
	for i, addr := range strings.Split(*backends, ",") {
		ready = append(ready, router.Backend{ID: *app + "-" + string(rune('a'+i)), Addr: addr})
	}
	r.SetBackends(*app, ready)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		if err := r.Serve(ln); err != nil {
			log.Fatal(err)
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.Shutdown(ctx)
}

func profileCPU(path string) (stop func()) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
