package router

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestUnknownHostIs404WithTinyJSON(t *testing.T) {
	tr := startRouter(t, Config{})
	tr.SetApp("known", AppConfig{})
	for _, host := range []string{"nope.localhost", "localhost", "a.b.localhost", "known.example.com", "127.0.0.1"} {
		code, body, hdr := tr.call(http.MethodGet, host, "/admin", nil, nil)
		if code != http.StatusNotFound || body != `{"error":"not found"}` {
			t.Errorf("host %q: %d %q, want 404 {\"error\":\"not found\"}", host, code, body)
		}
		if ct := hdr.Get("Content-Type"); ct != "application/json" {
			t.Errorf("host %q: Content-Type %q", host, ct)
		}
	}
}

func TestProxyRewritesHeadersAndPassesBodies(t *testing.T) {
	seen := make(chan http.Header, 4)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		h.Set("X-Seen-Host", r.Host)
		h.Set("X-Seen-URI", r.RequestURI)
		seen <- h
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-App", "yes")
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(append([]byte("echo:"), body...))
	})
	tr := startRouter(t, Config{})
	tr.SetApp("echo", AppConfig{})
	tr.SetBackends("echo", []Backend{up.backend("echo-1")})

	code, body, hdr := tr.call(http.MethodPost, "Echo.localhost:8080", "/a/../b%2Fc?q=1&q=2", strings.NewReader("ping"), http.Header{
		"Connection":      {"X-Secret"},
		"X-Secret":        {"hop"},
		"Keep-Alive":      {"timeout=1"},
		"X-Forwarded-For": {"10.0.0.1"},
		"X-Custom":        {"kept"},
	})
	if code != 200 || body != "echo:ping" {
		t.Fatalf("got %d %q, want 200 echo:ping", code, body)
	}
	if hdr.Get("X-App") != "yes" || hdr.Get("Keep-Alive") != "" {
		t.Errorf("response headers: X-App=%q Keep-Alive=%q", hdr.Get("X-App"), hdr.Get("Keep-Alive"))
	}
	h := recvWithin(t, seen, "upstream request")
	checks := map[string]string{
		"X-Seen-Host":       "echo.localhost:8080", // hosts are case-insensitive; fasthttp lower-cases them
		"X-Seen-Uri":        "/a/../b%2Fc?q=1&q=2",
		"X-Forwarded-For":   "10.0.0.1, 127.0.0.1",
		"X-Forwarded-Proto": "http",
		"X-Forwarded-Host":  "echo.localhost:8080",
		"X-Custom":          "kept",
		"X-Secret":          "",
		"Keep-Alive":        "",
	}
	for k, want := range checks {
		if got := h.Get(k); got != want {
			t.Errorf("upstream saw %s = %q, want %q", k, got, want)
		}
	}
	id := h.Get("X-Request-Id")
	if len(id) < 14 {
		t.Errorf("X-Request-Id %q not generated", id)
	}

	// A client-provided request id is kept; a second request gets a different generated one.
	tr.call(http.MethodGet, "echo.localhost", "/", nil, http.Header{"X-Request-Id": {"mine"}})
	if got := recvWithin(t, seen, "upstream request").Get("X-Request-Id"); got != "mine" {
		t.Errorf("X-Request-Id = %q, want the client's", got)
	}
	tr.call(http.MethodGet, "echo.localhost", "/", nil, nil)
	if got := recvWithin(t, seen, "upstream request").Get("X-Request-Id"); got == id || got == "" {
		t.Errorf("second generated X-Request-Id %q (first %q)", got, id)
	}
}

func TestProxyLargeAndHeadAndEmptyResponses(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640 KB: streamed, not buffered
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Header().Set("Content-Length", "640000")
			_, _ = w.Write(big)
		case "/none":
			w.WriteHeader(http.StatusNoContent)
		case "/upload":
			n, _ := io.Copy(io.Discard, r.Body)
			_, _ = io.WriteString(w, strings.Repeat("k", int(n/1000)))
		default:
			w.Header().Set("Content-Length", "5")
			_, _ = io.WriteString(w, "hello")
		}
	})
	tr := startRouter(t, Config{})
	tr.SetApp("files", AppConfig{})
	tr.SetBackends("files", []Backend{up.backend("f1")})

	for i := 0; i < 3; i++ { // repeated: the pooled backend connection must stay usable
		code, body, _ := tr.call(http.MethodGet, "files.localhost", "/big", nil, nil)
		if code != 200 || body != string(big) {
			t.Fatalf("big: %d, %d bytes", code, len(body))
		}
	}
	resp := tr.do(http.MethodHead, "files.localhost", "/", nil, nil)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != 5 {
		t.Errorf("HEAD: %d, Content-Length %d, want 200 and 5", resp.StatusCode, resp.ContentLength)
	}
	if code, body := tr.get("files.localhost", "/none"); code != 204 || body != "" {
		t.Errorf("204: %d %q", code, body)
	}
	code, body, _ := tr.call(http.MethodPut, "files.localhost", "/upload", bytes.NewReader(big), nil)
	if code != 200 || len(body) != 640 {
		t.Errorf("upload: %d, %d bytes back, want 640", code, len(body))
	}
	st, _ := tr.Stats("files")
	if st.Requests != 6 || st.Status[200] != 5 || st.Status[204] != 1 || st.InFlight != 0 {
		t.Errorf("stats: requests %d status %v inflight %d", st.Requests, st.Status, st.InFlight)
	}
	if st.LatencyCount != 6 || st.Latency[len(st.Latency)-1].Count != 6 || st.LatencySum <= 0 {
		t.Errorf("latency: count %d, last bucket %+v, sum %v", st.LatencyCount, st.Latency[len(st.Latency)-1], st.LatencySum)
	}
}

func TestBodyLimitIs413(t *testing.T) {
	up := textUpstream(t, "ok")
	tr := startRouter(t, Config{MaxBodyBytes: 1000})
	tr.SetApp("small", AppConfig{})
	tr.SetBackends("small", []Backend{up.backend("s1")})
	if code, body, _ := tr.call(http.MethodPost, "small.localhost", "/", strings.NewReader(strings.Repeat("x", 999)), nil); code != 200 || body != "ok" {
		t.Fatalf("under the limit: %d %q", code, body)
	}
	code, body, _ := tr.call(http.MethodPost, "small.localhost", "/", strings.NewReader(strings.Repeat("x", 1001)), nil)
	if code != http.StatusRequestEntityTooLarge || body != `{"error":"request body too large"}` {
		t.Fatalf("over the limit: %d %q", code, body)
	}
	if up.hits.Load() != 1 {
		t.Fatalf("upstream hits %d, want 1", up.hits.Load())
	}
}

func TestHugeHeaderIs431(t *testing.T) {
	tr := startRouter(t, Config{MaxHeaderBytes: 4096})
	tr.SetApp("h", AppConfig{})
	code, body, _ := tr.call(http.MethodGet, "h.localhost", "/", nil, http.Header{"X-Big": {strings.Repeat("b", 8000)}})
	if code != http.StatusRequestHeaderFieldsTooLarge || strings.Contains(body, "fasthttp") {
		t.Fatalf("got %d %q, want 431 without internals", code, body)
	}
}

func TestTimeoutIs504WithJSON(t *testing.T) {
	g := newGate()
	defer g.open()
	up := newUpstream(t, g.hold("slow"))
	tr := startRouter(t, Config{})
	tr.SetApp("slow", AppConfig{Timeout: 150 * time.Millisecond})
	tr.SetBackends("slow", []Backend{up.backend("slow-1")})
	start := time.Now()
	code, body := tr.get("slow.localhost", "/")
	if code != http.StatusGatewayTimeout || body != `{"error":"upstream timed out","app":"slow","timeout_seconds":0.15}` {
		t.Fatalf("got %d %q", code, body)
	}
	if took := time.Since(start); took < 150*time.Millisecond || took > 5*time.Second {
		t.Fatalf("504 after %v, want ≈150ms", took)
	}
	st, _ := tr.Stats("slow")
	if st.Status[504] != 1 || st.Backends["slow-1"] != 0 {
		t.Fatalf("stats after timeout: status %v backends %v", st.Status, st.Backends)
	}
}

func TestP2CSendsNextRequestToIdleBackend(t *testing.T) {
	g := newGate()
	defer g.open()
	handler := func(name string) http.HandlerFunc {
		hold := g.hold(name)
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				hold(w, r)
				return
			}
			_, _ = io.WriteString(w, name)
		}
	}
	a := newUpstream(t, handler("a"))
	b := newUpstream(t, handler("b"))
	tr := startRouter(t, Config{Policy: "p2c"})
	tr.SetApp("p", AppConfig{})
	tr.SetBackends("p", []Backend{a.backend("a"), b.backend("b")})

	slowDone := make(chan int, 1)
	go func() {
		code, _ := tr.get("p.localhost", "/slow")
		slowDone <- code
	}()
	stuck := recvWithin(t, g.entered, "the slow request")
	idle := map[string]string{"a": "b", "b": "a"}[stuck]
	if st, _ := tr.Stats("p"); st.Backends[stuck] != 1 || st.InFlight != 1 {
		t.Fatalf("while stuck: backends %v inflight %d", st.Backends, st.InFlight)
	}
	for i := 0; i < 20; i++ {
		if code, body := tr.get("p.localhost", "/fast"); code != 200 || body != idle {
			t.Fatalf("request %d went to %q (%d), want the idle backend %q", i, body, code, idle)
		}
	}
	g.open()
	if code := recvWithin(t, slowDone, "slow response"); code != 200 {
		t.Fatalf("slow request: %d", code)
	}
}

func TestRoundRobinRotates(t *testing.T) {
	tr := startRouter(t, Config{Policy: "round-robin"})
	tr.SetApp("rr", AppConfig{})
	var bs []Backend
	for _, n := range []string{"x", "y", "z"} {
		bs = append(bs, textUpstream(t, n).backend(n))
	}
	tr.SetBackends("rr", bs)
	count := map[string]int{}
	for i := 0; i < 9; i++ {
		_, body := tr.get("rr.localhost", "/")
		count[body]++
	}
	if count["x"] != 3 || count["y"] != 3 || count["z"] != 3 {
		t.Fatalf("round-robin spread %v, want 3 each", count)
	}
}

func TestBackendConnectionsAreReused(t *testing.T) {
	big := strings.Repeat("z", 200000)
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big": // Content-Length above the buffering limit: streamed
			_, _ = io.WriteString(w, big)
		case "/chunked":
			_, _ = io.WriteString(w, "part1,")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "part2")
		default:
			_, _ = io.WriteString(w, "small")
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	tr := startRouter(t, Config{})
	tr.SetApp("reuse", AppConfig{})
	tr.SetBackends("reuse", []Backend{{ID: "r1", Addr: srv.Listener.Addr().String()}})
	want := map[string]string{"/small": "small", "/big": big, "/chunked": "part1,part2"}
	for i := 0; i < 4; i++ {
		for _, path := range []string{"/small", "/big", "/chunked"} {
			if code, body := tr.get("reuse.localhost", path); code != 200 || body != want[path] {
				t.Fatalf("%s: %d, %d bytes", path, code, len(body))
			}
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("12 sequential requests opened %d backend connections, want 1 reused keep-alive connection", n)
	}
}

func TestClientConnectionCloseIsHonoured(t *testing.T) {
	up := textUpstream(t, "bye")
	tr := startRouter(t, Config{})
	tr.SetApp("c", AppConfig{})
	tr.SetBackends("c", []Backend{up.backend("c1")})
	conn, err := net.Dial("tcp", tr.addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: c.localhost\r\nConnection: close\r\n\r\n")
	all, err := io.ReadAll(conn) // returns only because the router closes the connection
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	resp := string(all)
	if !strings.HasPrefix(resp, "HTTP/1.1 200") || !strings.HasSuffix(resp, "bye") || !strings.Contains(resp, "Connection: close") {
		t.Fatalf("response %q", resp)
	}
}
