package scheduler

import (
	"net"
	"net/http"
	"time"
)

var healthClient = &http.Client{
	Timeout: 500 * time.Millisecond,
	Transport: &http.Transport{
		DisableKeepAlives: true,
		Proxy:             nil,
	},
}

// healthy reports whether the replica at addr answers: a TCP connect, or, with a health path,
// an HTTP GET answered below 400.
func healthy(addr, path string) bool {
	if path == "" {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	resp, err := healthClient.Get("http://" + addr + path)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode < 400
}
