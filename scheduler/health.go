package scheduler

import (
	"context"
	"net"
	"net/http"
	"time"
)

// prober checks whether a replica answers; dialer (nil: a plain one) makes its connections.
type prober struct {
	dialer *net.Dialer
	client *http.Client
}

func newProber(dialer *net.Dialer) *prober {
	if dialer == nil {
		dialer = &net.Dialer{}
	}
	d := *dialer
	d.Timeout = 200 * time.Millisecond
	return &prober{
		dialer: &d,
		client: &http.Client{
			Timeout: 500 * time.Millisecond,
			Transport: &http.Transport{
				DisableKeepAlives: true,
				Proxy:             nil,
				DialContext:       d.DialContext,
			},
		},
	}
}

// healthy reports whether the replica at addr answers: a TCP connect, or, with a health path,
// an HTTP GET answered below 400.
func (p *prober) healthy(addr, path string) bool {
	if path == "" {
		c, err := p.dialer.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	resp, err := p.client.Get("http://" + addr + path)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode < 400
}
