// Command spinserver is a test app: it serves HTTP on $PORT (only h2c when SPIN_H2C=1, as a gRPC
// server does), answers / with its hostname and the protocol it was asked in, and
// /spin?seconds=N&threads=T keeps T goroutines busy for N seconds, and /read and /dial tell
// what the replica may reach.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	host, _ := os.Hostname()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-Proto", r.Proto)
		fmt.Fprintf(w, "{\"hostname\":%q,\"revision\":%q}\n", host, os.Getenv("K_REVISION"))
	})
	http.HandleFunc("/spin", func(w http.ResponseWriter, r *http.Request) {
		secs, _ := strconv.ParseFloat(r.URL.Query().Get("seconds"), 64)
		threads, _ := strconv.Atoi(r.URL.Query().Get("threads"))
		if threads < 1 {
			threads = 1
		}
		end := time.Now().Add(time.Duration(secs * float64(time.Second)))
		var wg sync.WaitGroup
		for i := 0; i < threads; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				x := 0
				for time.Now().Before(end) {
					for j := 0; j < 100000; j++ {
						x += j
					}
				}
				_ = x
			}()
		}
		wg.Wait()
		fmt.Fprintln(w, "done")
	})
	// /read?path=P answers "ok" when this replica can read P, else the error; /dial?path=P the
	// same for connecting to a Unix socket.
	http.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.ReadFile(r.URL.Query().Get("path")); err != nil {
			fmt.Fprintln(w, err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/dial", func(w http.ResponseWriter, r *http.Request) {
		c, err := net.Dial("unix", r.URL.Query().Get("path"))
		if err != nil {
			fmt.Fprintln(w, err)
			return
		}
		c.Close()
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Addr: ":" + os.Getenv("PORT")}
	if os.Getenv("SPIN_H2C") == "1" {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		srv.Protocols = &p
	}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
