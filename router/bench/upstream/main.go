// Command upstream is the benchmark's backend: a tiny static net/http server.
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	size := flag.Int("size", 13, "response body size in bytes")
	flag.Parse()
	body := make([]byte, *size)
	copy(body, "Hello, World!")
	for i := 13; i < len(body); i++ {
		body[i] = 'x'
	}
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
