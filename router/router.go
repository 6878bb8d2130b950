package router

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Router is fnrun's HTTP front door: one fasthttp server routing to every app's replicas.
// All methods are safe for concurrent use.
type Router struct {
	cfg    Config
	domain string
	policy PolicyFunc
	srv    *fasthttp.Server        // HTTP/1.x clients: the fast path
	h2srv  *http.Server            // h2c (prior knowledge) clients
	h1toH2 fasthttp.RequestHandler // HTTP/1.x clients of h2c apps, through net/http

	mu   sync.Mutex                      // serializes writers of apps
	apps atomic.Pointer[map[string]*app] // copy-on-write; read lock-free on the hot path

	lnMu      sync.Mutex
	listeners []net.Listener
	closed    bool
	closing   chan struct{} // closed by Shutdown: queued requests give up
	tunnels   tunnelSet

	reqIDPrefix [12]byte
	reqIDSeq    atomic.Uint64
}

// New returns a Router configured by cfg (zero fields take their defaults). Call Serve to start it.
func New(cfg Config) *Router {
	cfg = cfg.withDefaults()
	cfg.sweep = newSweeper(sweepTick(min(cfg.ReadHeaderTimeout, cfg.IdleTimeout)), time.Now())
	cfg.sweep.start()
	r := &Router{
		cfg:     cfg,
		domain:  cfg.Domain,
		policy:  cfg.PolicyFunc,
		closing: make(chan struct{}),
	}
	empty := map[string]*app{}
	r.apps.Store(&empty)
	var seed [6]byte
	_, _ = rand.Read(seed[:])
	hex.Encode(r.reqIDPrefix[:], seed[:])

	logger := cfg.Logger
	if logger == nil {
		logger = discardLogger{}
	}
	r.srv = &fasthttp.Server{
		Handler:                      r.handle,
		ErrorHandler:                 handleParseError,
		HeaderReceived:               r.headerReceived,
		Logger:                       logger,
		ReadTimeout:                  cfg.ReadHeaderTimeout,
		IdleTimeout:                  cfg.IdleTimeout,
		ReadBufferSize:               cfg.MaxHeaderBytes,
		StreamRequestBody:            cfg.MaxBodyBytes == 0,
		MaxRequestBodySize:           requestBodyLimit(cfg.MaxBodyBytes),
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		NoDefaultDate:                true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		KeepHijackedConns:            true, // tunnels close their client connections themselves
		SecureErrorLogMessage:        true,
	}
	r.h2srv = newH2Server(cfg, http.HandlerFunc(r.serveHTTP))
	r.h1toH2 = fasthttpadaptor.NewFastHTTPHandler(http.HandlerFunc(r.serveHTTP)) // h2c apps only: serveHTTP proxies them
	return r
}

// newH2Server is the server of h2c connections: HTTP/2 with prior knowledge only (HTTP/1.x
// connections never reach it), with the same header limits and timeouts as the fast path.
func newH2Server(cfg Config, h http.Handler) *http.Server {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:           h,
		Protocols:         &p,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          discardLog,
	}
}

// requestBodyLimit is fasthttp's MaxRequestBodySize: the hard limit when buffering, or how much of
// a streamed body is read ahead in memory.
func requestBodyLimit(maxBody int) int {
	if maxBody > 0 {
		return maxBody
	}
	return 64 << 10
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// Serve accepts connections on ln and proxies their requests; it blocks until Shutdown
// (then it returns nil) or a listener error.
func (r *Router) Serve(ln net.Listener) error {
	r.lnMu.Lock()
	if r.closed {
		r.lnMu.Unlock()
		return ErrClosed
	}
	r.listeners = append(r.listeners, ln)
	r.lnMu.Unlock()
	mux := newProtoMux(ln, r.cfg.ReadHeaderTimeout, func(c net.Conn) net.Conn { return r.cfg.sweep.wrap(c) })
	go mux.run()
	h2done := make(chan error, 1)
	go func() { h2done <- r.h2srv.Serve(mux.h2) }()
	err := r.srv.Serve(mux.h1)
	mux.close()
	h2err := <-h2done
	if err == nil && !errors.Is(h2err, http.ErrServerClosed) {
		err = h2err
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting connections, answers queued requests with 503 and waits until in-flight
// requests and WebSocket tunnels finish or ctx ends (then the tunnels are closed and ctx's error returned).
func (r *Router) Shutdown(ctx context.Context) error {
	r.lnMu.Lock()
	if !r.closed {
		r.closed = true
		close(r.closing)
		for _, ln := range r.listeners { // also those fasthttp may not have registered yet
			_ = ln.Close()
		}
	}
	r.lnMu.Unlock()
	err := r.srv.ShutdownWithContext(ctx)
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	if herr := r.h2srv.Shutdown(ctx); herr != nil && err == nil {
		err = herr
	}
	defer r.cfg.sweep.close() // after the servers: their last reads still time out
	if terr := r.tunnels.wait(ctx); terr != nil && err == nil {
		err = terr
	}
	if err != nil {
		return fmt.Errorf("shutdown router: %w", err)
	}
	return nil
}

// SetApp creates app id, or updates its configuration. A new app has no backends: its requests
// queue in the activator until SetBackends.
func (r *Router) SetApp(id string, cfg AppConfig) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.apps.Load()
	if a := old[id]; a != nil {
		a.setConfig(cfg)
		return
	}
	m := make(map[string]*app, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[id] = newApp(id, cfg)
	r.apps.Store(&m)
}

// RemoveApp forgets app id: its Host is unknown (404) from now on and queued requests get 503.
func (r *Router) RemoveApp(id string) {
	r.mu.Lock()
	old := *r.apps.Load()
	a := old[id]
	if a == nil {
		r.mu.Unlock()
		return
	}
	m := make(map[string]*app, len(old))
	for k, v := range old {
		if k != id {
			m[k] = v
		}
	}
	r.apps.Store(&m)
	r.mu.Unlock()
	a.remove()
}

// SetBackends replaces the READY set of appID. A backend left out gets no new requests from now on;
// its in-flight ones finish. Unknown apps are ignored.
func (r *Router) SetBackends(appID string, ready []Backend) {
	if a := r.app(appID); a != nil {
		a.setBackends(ready, &r.cfg)
	}
}

// Drain stops new requests to backendID of appID at once (it leaves the ready set) and returns when
// its in-flight count, open WebSockets included, is 0 (or with ctx's error). Draining a backend the
// router does not know, or no longer tracks because it went idle, returns nil. A later SetBackends
// that lists it again makes it ready again.
func (r *Router) Drain(ctx context.Context, appID, backendID string) error {
	a := r.app(appID)
	if a == nil {
		return fmt.Errorf("drain %s/%s: %w", appID, backendID, ErrUnknownApp)
	}
	b := a.stopBackend(backendID)
	if b == nil {
		return nil
	}
	if err := b.waitIdle(ctx); err != nil {
		return fmt.Errorf("drain %s/%s: %w", appID, backendID, err)
	}
	a.forget(b)
	return nil
}

// Stats returns a snapshot of appID's counters; false if the app is unknown.
func (r *Router) Stats(appID string) (AppStats, bool) {
	a := r.app(appID)
	if a == nil {
		return AppStats{}, false
	}
	return a.snapshot(), true
}

func (r *Router) app(id string) *app {
	return (*r.apps.Load())[id]
}

// lookup finds the app a Host header addresses, without allocating.
func (r *Router) lookup(host []byte) *app {
	label, ok := hostLabel(host, r.domain)
	if !ok {
		return nil
	}
	m := *r.apps.Load()
	var buf [63]byte
	lower := buf[:len(label)]
	upper := false
	for i, c := range label {
		lower[i] = toLower(c)
		upper = upper || lower[i] != c
	}
	if !upper {
		return m[string(label)]
	}
	return m[string(lower)]
}

// headerReceived lets a request body be read for as long as the app's timeout instead of the header
// timeout. Body-less requests skip it: no extra deadline syscalls on the common path.
func (r *Router) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if cl := h.ContentLength(); cl == 0 || cl == -2 {
		return fasthttp.RequestConfig{}
	}
	a := r.lookup(h.Host())
	if a == nil {
		return fasthttp.RequestConfig{}
	}
	return fasthttp.RequestConfig{ReadTimeout: a.timeoutDur()}
}
