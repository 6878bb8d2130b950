package router

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testRouter is a Router serving on a loopback port, with an HTTP client aimed at it.
type testRouter struct {
	*Router
	addr   string
	client *http.Client
	t      *testing.T
}

func startRouter(t *testing.T, cfg Config) *testRouter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	r := New(cfg)
	served := make(chan error, 1)
	go func() { served <- r.Serve(ln) }()
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return &testRouter{Router: r, addr: ln.Addr().String(), client: &http.Client{Transport: tr}, t: t}
}

// do sends a request for host through the router; it fails the test on transport errors.
func (tr *testRouter) do(method, host, path string, body io.Reader, header http.Header) *http.Response {
	tr.t.Helper()
	req, err := http.NewRequest(method, "http://"+tr.addr+path, body)
	if err != nil {
		tr.t.Fatalf("new request: %v", err)
	}
	req.Host = host
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := tr.client.Do(req)
	if err != nil {
		tr.t.Fatalf("%s %s%s: %v", method, host, path, err)
	}
	return resp
}

// call is do plus reading the whole body.
func (tr *testRouter) call(method, host, path string, body io.Reader, header http.Header) (int, string, http.Header) {
	tr.t.Helper()
	resp := tr.do(method, host, path, body, header)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tr.t.Fatalf("read body of %s %s%s: %v", method, host, path, err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func (tr *testRouter) get(host, path string) (int, string) {
	tr.t.Helper()
	code, body, _ := tr.call(http.MethodGet, host, path, nil, nil)
	return code, body
}

// upstream is a real backend on a loopback port that counts the requests it receives.
type upstream struct {
	*httptest.Server
	hits atomic.Int64
}

func newUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	t.Helper()
	return startUpstream(t, h, nil)
}

// startUpstream starts an upstream speaking protocols (nil: HTTP/1.1).
func startUpstream(t *testing.T, h http.HandlerFunc, protocols *http.Protocols) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		h(w, r)
	}))
	u.Config.Protocols = protocols
	u.Start()
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) backend(id string) Backend {
	return Backend{ID: id, Addr: u.Listener.Addr().String()}
}

// textUpstream answers every request with body.
func textUpstream(t *testing.T, body string) *upstream {
	t.Helper()
	return newUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, body)
	})
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("close listener: %v", err)
	}
	return addr
}

// gate lets a test hold upstream handlers and know when they entered.
type gate struct {
	entered chan string
	release chan struct{}
}

// newGate returns a closed-over pair of channels; callers must `defer g.open()` so held handlers
// end before the upstreams' Close (a t.Cleanup) waits for them.
func newGate() *gate {
	return &gate{entered: make(chan string, 16), release: make(chan struct{})}
}

func (g *gate) open() {
	select {
	case <-g.release:
	default:
		close(g.release)
	}
}

// hold returns a handler that reports name on entered and blocks until release (or the client leaves).
func (g *gate) hold(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g.entered <- name
		select {
		case <-g.release:
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, name)
	}
}

func recvWithin[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func mustContain(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%q does not contain %q", s, sub)
	}
}

// waitFor spins (yielding, never sleeping) until cond holds, failing the test after 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// alwaysFirst is a deterministic PolicyFunc: the first candidate.
func alwaysFirst(Candidates, uint64, uint64) int { return 0 }

// hangupBackend accepts connections, reads one request header, counts it and closes the connection
// without answering: the backend "crashed" after receiving the request.
type hangupBackend struct {
	addr string
	hits atomic.Int64
}

func newHangupBackend(t *testing.T) *hangupBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	h := &hangupBackend{addr: ln.Addr().String()}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						h.hits.Add(1)
						return
					}
				}
			}()
		}
	}()
	return h
}

// oneShotBackend answers the first request of each connection with a keep-alive "ok", then closes
// the connection: the next request on it finds a stale pooled connection.
type oneShotBackend struct {
	addr   string
	served atomic.Int64
	closed chan struct{}
}

func newOneShotBackend(t *testing.T) *oneShotBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	o := &oneShotBackend{addr: ln.Addr().String(), closed: make(chan struct{}, 16)}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err == nil {
					_, _ = io.Copy(io.Discard, req.Body)
					o.served.Add(1)
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
				_ = c.Close()
				o.closed <- struct{}{}
			}()
		}
	}()
	return o
}
