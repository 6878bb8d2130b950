package router

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// backend is one replica with its keep-alive pool and in-flight accounting.
type backend struct {
	id     string
	addr   string
	client *fasthttp.HostClient

	inflight  atomic.Int64
	accepting atomic.Bool // false once out of the ready set or draining

	// net/http transports (pools) of the h2c path, made on first use: HTTP/1.1 and h2c.
	trMu sync.Mutex
	h1tr *http.Transport
	h2tr *http.Transport

	mu   sync.Mutex
	idle chan struct{} // closed when inflight reaches 0 while not accepting
}

// dialError marks a failure to connect: nothing of the request was written.
type dialError struct{ err error }

func (e *dialError) Error() string { return "dial backend: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

func newBackend(b Backend, cfg *Config) *backend {
	connectTimeout := cfg.ConnectTimeout
	dial := func(addr string, timeout time.Duration) (net.Conn, error) {
		if timeout <= 0 || timeout > connectTimeout {
			timeout = connectTimeout
		}
		c, err := cfg.dial(addr, timeout)
		if err != nil {
			return nil, &dialError{err: err}
		}
		if cfg.sweep != nil {
			return cfg.sweep.wrap(c), nil // exchange moves the read deadline on every request
		}
		return c, nil
	}
	be := &backend{
		id:   b.ID,
		addr: b.Addr,
		// The HostClient is used as a keep-alive connection pool only: exchange does the HTTP itself.
		client: &fasthttp.HostClient{
			Addr:                b.Addr,
			DialTimeout:         dial,
			MaxConns:            cfg.MaxConnsPerBackend,
			MaxConnWaitTimeout:  24 * time.Hour, // bounded by each request's own deadline
			MaxIdleConnDuration: cfg.BackendIdleConnTimeout,
			ReadBufferSize:      cfg.MaxHeaderBytes, // also the limit of a response header
		},
	}
	be.accepting.Store(true)
	return be
}

// httpTransport returns b's net/http connection pool, speaking h2c (prior knowledge) or HTTP/1.1.
func (b *backend) httpTransport(cfg *Config, h2c bool) *http.Transport {
	b.trMu.Lock()
	defer b.trMu.Unlock()
	tr := &b.h1tr
	if h2c {
		tr = &b.h2tr
	}
	if *tr == nil {
		*tr = newHTTPTransport(cfg, h2c)
	}
	return *tr
}

func newHTTPTransport(cfg *Config, h2c bool) *http.Transport {
	t := &http.Transport{
		Proxy: nil, // never an HTTP_PROXY from the environment
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			timeout := cfg.ConnectTimeout
			if d, ok := ctx.Deadline(); ok {
				timeout = min(timeout, time.Until(d))
			}
			if timeout <= 0 {
				return nil, &dialError{err: context.DeadlineExceeded}
			}
			c, err := cfg.dial(addr, timeout)
			if err != nil {
				return nil, &dialError{err: err}
			}
			return c, nil
		},
		MaxIdleConnsPerHost:    cfg.MaxConnsPerBackend,
		MaxConnsPerHost:        cfg.MaxConnsPerBackend,
		IdleConnTimeout:        cfg.BackendIdleConnTimeout,
		MaxResponseHeaderBytes: int64(cfg.MaxHeaderBytes),
		DisableCompression:     true, // pass bodies as the app encoded them
	}
	if h2c {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		t.Protocols = &p
	}
	return t
}

// closeIdle closes b's idle pooled connections (b left the app).
func (b *backend) closeIdle() {
	b.client.CloseIdleConnections()
	b.trMu.Lock()
	defer b.trMu.Unlock()
	for _, t := range []*http.Transport{b.h1tr, b.h2tr} {
		if t != nil {
			t.CloseIdleConnections()
		}
	}
}

// tryAcquire counts a new request on b, or reports false (and counts nothing) when b stopped accepting.
// Incrementing before checking closes the race with Drain, which flips accepting before reading inflight.
func (b *backend) tryAcquire() bool {
	b.inflight.Add(1)
	if b.accepting.Load() {
		return true
	}
	b.release()
	return false
}

// release ends one request on b and wakes Drain when it was the last one.
func (b *backend) release() {
	if b.inflight.Add(-1) == 0 && !b.accepting.Load() {
		b.mu.Lock()
		if b.idle != nil && b.inflight.Load() == 0 {
			close(b.idle)
			b.idle = nil
		}
		b.mu.Unlock()
	}
}

// waitIdle returns once b has no request in flight (b must already have stopped accepting).
func (b *backend) waitIdle(ctx context.Context) error {
	for {
		b.mu.Lock()
		if b.inflight.Load() == 0 {
			b.mu.Unlock()
			return nil
		}
		if b.idle == nil {
			b.idle = make(chan struct{})
		}
		ch := b.idle
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// readySet is an immutable ready list, replaced copy-on-write; it is the Candidates of a pick.
type readySet struct{ list []*backend }

func (s *readySet) Len() int             { return len(s.list) }
func (s *readySet) InFlight(i int) int64 { return s.list[i].inflight.Load() }

// without is a ready list minus one backend, used to pick a retry target.
type without struct {
	list []*backend
	skip int
}

func (w *without) Len() int { return len(w.list) - 1 }
func (w *without) InFlight(i int) int64 {
	return w.list[w.index(i)].inflight.Load()
}
func (w *without) index(i int) int {
	if i >= w.skip {
		return i + 1
	}
	return i
}

// dial connects to a backend, through the configured Dialer when there is one.
func (cfg *Config) dial(addr string, timeout time.Duration) (net.Conn, error) {
	if cfg.Dialer == nil {
		return net.DialTimeout("tcp", addr, timeout)
	}
	d := *cfg.Dialer
	d.Timeout = timeout
	return d.Dial("tcp", addr)
}
