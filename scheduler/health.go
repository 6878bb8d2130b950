package scheduler

import (
	"context"
	"net"
	"net/http"
	"time"
)

// prober checks whether a replica answers; dialer (nil: a plain one) makes its connections.
type prober struct {
	dialer    *net.Dialer
	client    *http.Client // HTTP/1.1 health checks
	h2cClient *http.Client // health checks of apps that serve only h2c
}

func newProber(dialer *net.Dialer) *prober {
	if dialer == nil {
		dialer = &net.Dialer{}
	}
	d := *dialer
	d.Timeout = 200 * time.Millisecond
	client := func(protocols *http.Protocols) *http.Client {
		return &http.Client{
			Timeout: 500 * time.Millisecond,
			Transport: &http.Transport{
				DisableKeepAlives: true,
				Proxy:             nil,
				DialContext:       d.DialContext,
				Protocols:         protocols,
			},
		}
	}
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	return &prober{dialer: &d, client: client(nil), h2cClient: client(&h2c)}
}

// healthy reports whether the replica at addr answers: a TCP connect, or, with a health path,
// an HTTP GET answered below 400 (over h2c for an app that serves h2c).
func (p *prober) healthy(addr, path string, h2c bool) bool {
	if path == "" {
		c, err := p.dialer.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	c := p.client
	if h2c {
		c = p.h2cClient
	}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode < 400
}
