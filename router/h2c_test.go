package router

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// h2cOnly is the protocol set of a client or server that speaks HTTP/2 with prior knowledge only.
func h2cOnly() *http.Protocols {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &p
}

// h2cClient is an HTTP client that speaks only h2c to the router.
func (tr *testRouter) h2cClient() *http.Client {
	tr.t.Helper()
	tp := &http.Transport{Protocols: h2cOnly()}
	tr.t.Cleanup(tp.CloseIdleConnections)
	return &http.Client{Transport: tp}
}

// h2cDo sends one request over h2c and returns the response with its body read.
func (tr *testRouter) h2cDo(c *http.Client, method, host, path string, body io.Reader) (*http.Response, string) {
	tr.t.Helper()
	req, err := http.NewRequest(method, "http://"+tr.addr+path, body)
	if err != nil {
		tr.t.Fatalf("new request: %v", err)
	}
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		tr.t.Fatalf("%s %s%s over h2c: %v", method, host, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tr.t.Fatalf("read body: %v", err)
	}
	if resp.ProtoMajor != 2 {
		tr.t.Fatalf("response protocol %s, want HTTP/2.0", resp.Proto)
	}
	return resp, string(b)
}

// newH2CUpstream is a backend that speaks only h2c (as a gRPC server does).
func newH2CUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	t.Helper()
	return startUpstream(t, h, h2cOnly())
}

func TestH2CClientReachesHTTP1App(t *testing.T) {
	seen := make(chan *http.Request, 1)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		seen <- r
		w.Header().Set("X-App", "yes")
		_, _ = io.WriteString(w, "hello over "+r.Proto)
	})
	tr := startRouter(t, Config{})
	tr.SetApp("web", AppConfig{})
	tr.SetBackends("web", []Backend{up.backend("web-1")})

	resp, body := tr.h2cDo(tr.h2cClient(), http.MethodGet, "web.localhost", "/x?y=1", nil)
	if resp.StatusCode != 200 || body != "hello over HTTP/1.1" || resp.Header.Get("X-App") != "yes" {
		t.Fatalf("got %d %q %v, want 200 from the HTTP/1.1 app", resp.StatusCode, body, resp.Header)
	}
	r := recvWithin(t, seen, "the upstream request")
	for k, want := range map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "web.localhost"} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("upstream %s = %q, want %q", k, got, want)
		}
	}
	if r.Host != "web.localhost" || r.URL.RequestURI() != "/x?y=1" || r.Header.Get("X-Request-Id") == "" {
		t.Errorf("upstream saw Host %q, URI %q, X-Request-Id %q", r.Host, r.URL.RequestURI(), r.Header.Get("X-Request-Id"))
	}
	if st, _ := tr.Stats("web"); st.Requests != 1 || st.Status[200] != 1 || st.InFlight != 0 {
		t.Fatalf("stats after one h2c request: %+v", st)
	}
}

func TestH2CErrorsAreShortJSON(t *testing.T) {
	g := newGate()
	defer g.open()
	slow := newUpstream(t, g.hold("slow"))
	tr := startRouter(t, Config{QueueSize: 1})
	c := tr.h2cClient()
	tr.SetApp("slow", AppConfig{Timeout: 200 * time.Millisecond})
	tr.SetBackends("slow", []Backend{slow.backend("slow-1")})
	tr.SetApp("cold", AppConfig{Timeout: 100 * time.Millisecond})

	for _, tc := range []struct {
		host, wantBody string
		want           int
	}{
		{"nobody.localhost", `{"error":"not found"}`, 404},
		{"slow.localhost", `{"error":"upstream timed out","app":"slow","timeout_seconds":0.2}`, 504},
		{"cold.localhost", `{"error":"no ready replica","app":"cold"}`, 503},
	} {
		resp, body := tr.h2cDo(c, http.MethodGet, tc.host, "/", nil)
		if resp.StatusCode != tc.want || body != tc.wantBody || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q (%s), want %d %q", tc.host, resp.StatusCode, body, resp.Header.Get("Content-Type"), tc.want, tc.wantBody)
		}
	}
	if st, _ := tr.Stats("slow"); st.Status[504] != 1 || st.InFlight != 0 {
		t.Fatalf("slow app stats: %+v", st)
	}
}

func TestH2CRetriesGetOnDialFailureOnly(t *testing.T) {
	live := textUpstream(t, "live")
	tr := startRouter(t, Config{PolicyFunc: alwaysFirst})
	c := tr.h2cClient()
	tr.SetApp("r", AppConfig{})
	tr.SetBackends("r", []Backend{{ID: "dead", Addr: closedAddr(t)}, live.backend("live")})

	if resp, body := tr.h2cDo(c, http.MethodGet, "r.localhost", "/", nil); resp.StatusCode != 200 || body != "live" {
		t.Fatalf("GET via the dead backend: %d %q, want 200 after a retry", resp.StatusCode, body)
	}
	resp, body := tr.h2cDo(c, http.MethodPost, "r.localhost", "/", strings.NewReader("x"))
	if resp.StatusCode != http.StatusBadGateway || body != `{"error":"bad gateway","app":"r"}` {
		t.Fatalf("POST: %d %q, want 502", resp.StatusCode, body)
	}
	if live.hits.Load() != 1 {
		t.Fatalf("live hits %d, want 1 (the GET only)", live.hits.Load())
	}
}

// An h2c app (like a gRPC server) gets HTTP/2 from the router, streams and trailers included,
// whether the client came with h2c or HTTP/1.1.
func TestH2CAppStreamsAndTrailers(t *testing.T) {
	next := make(chan struct{})
	up := newH2CUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "Grpc-Status")
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: one "+r.Proto+"\n\n")
		w.(http.Flusher).Flush()
		if r.URL.Path == "/stream" {
			select { // the second event only after the client saw the first
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
		_, _ = io.WriteString(w, "data: two\n\n")
		w.Header().Set("Grpc-Status", "0")
	})
	tr := startRouter(t, Config{})
	tr.SetApp("grpc", AppConfig{Protocol: ProtocolH2C})
	tr.SetBackends("grpc", []Backend{up.backend("grpc-1")})

	req, _ := http.NewRequest(http.MethodGet, "http://"+tr.addr+"/stream", nil)
	req.Host = "grpc.localhost"
	resp, err := tr.h2cClient().Do(req)
	if err != nil {
		t.Fatalf("h2c stream: %v", err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: one HTTP/2.0\n" {
		t.Fatalf("first event %q (%v), want it before the second is written, from an HTTP/2 upstream", line, err)
	}
	close(next)
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "\ndata: two\n\n" {
		t.Fatalf("rest %q (%v)", rest, err)
	}
	if got := resp.Trailer.Get("Grpc-Status"); got != "0" {
		t.Fatalf("trailer Grpc-Status %q, want 0 (trailers: %v)", got, resp.Trailer)
	}

	code, body := tr.get("grpc.localhost", "/unary")
	if code != 200 || body != "data: one HTTP/2.0\n\ndata: two\n\n" {
		t.Fatalf("HTTP/1.1 client of an h2c app: %d %q", code, body)
	}
	if st, _ := tr.Stats("grpc"); st.Requests != 2 || st.Status[200] != 2 || st.InFlight != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestDrainWaitsForH2CRequests(t *testing.T) {
	g := newGate()
	defer g.open()
	up := newUpstream(t, g.hold("held"))
	tr := startRouter(t, Config{})
	tr.SetApp("d", AppConfig{})
	tr.SetBackends("d", []Backend{up.backend("d-1")})

	done := make(chan string, 1)
	c := tr.h2cClient()
	go func() {
		_, body := tr.h2cDo(c, http.MethodGet, "d.localhost", "/", nil)
		done <- body
	}()
	recvWithin(t, g.entered, "the held request")
	drained := make(chan error, 1)
	go func() { drained <- tr.Drain(context.Background(), "d", "d-1") }()
	select {
	case err := <-drained:
		t.Fatalf("Drain returned (%v) while an h2c request was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	g.open()
	if body := recvWithin(t, done, "the held response"); body != "held" {
		t.Fatalf("held request got %q", body)
	}
	if err := recvWithin(t, drained, "Drain"); err != nil {
		t.Fatalf("Drain: %v", err)
	}
}

// The mux recognises the HTTP/2 preface even when it comes in pieces, replays what it read, and
// sends an HTTP/1.1 request whose method starts like the preface ("PUT") to the HTTP/1.1 side.
func TestProtoMuxSniffsSplitPreface(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
		want   string // "h1", "h2" or "closed"
	}{
		{"h2 in pieces", []string{"PRI * HT", "TP/2.0\r\n\r\nS", "M\r\n\r\n", "frames"}, "h2"},
		{"h2 at once", []string{h2Preface + "frames"}, "h2"},
		{"PUT in pieces", []string{"PU", "T / HTTP/1.1\r\n\r\n"}, "h1"},
		{"GET", []string{"GET / HTTP/1.1\r\n\r\n"}, "h1"},
		{"gone after PR", []string{"PR"}, "closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln := &fakeListener{}
			m := newProtoMux(ln, time.Minute, nil)
			defer m.close()
			client, server := net.Pipe() // each Read gets at most one Write: the split is exact
			dispatched := make(chan struct{})
			go func() { m.dispatch(server); close(dispatched) }()
			wrote := make(chan error, 1)
			go func() { // a pipe write waits for its reader
				for _, w := range tc.writes {
					if _, err := io.WriteString(client, w); err != nil {
						wrote <- err
						return
					}
				}
				wrote <- nil
			}()
			all := strings.Join(tc.writes, "")
			var got net.Conn
			switch tc.want {
			case "h1":
				got = recvWithin(t, m.h1.conns, "an HTTP/1.1 connection")
			case "h2":
				got = recvWithin(t, m.h2.conns, "an h2c connection")
			case "closed":
				if err := recvWithin(t, wrote, "the writes"); err != nil {
					t.Fatalf("write: %v", err)
				}
				_ = client.Close()
				recvWithin(t, dispatched, "dispatch to give up")
				select {
				case c := <-m.h1.conns:
					t.Fatalf("a connection that sent only %q went to HTTP/1.1: %v", all, c)
				default:
				}
				return
			}
			b := make([]byte, len(all))
			if _, err := io.ReadFull(got, b); err != nil {
				t.Fatalf("read what the client sent: %v", err)
			}
			if err := recvWithin(t, wrote, "the writes"); err != nil {
				t.Fatalf("write: %v", err)
			}
			if string(b) != all {
				t.Fatalf("the server read %q, want every byte the client sent: %q", b, all)
			}
		})
	}
}

// fakeListener is a listener that is never accepted from: dispatch is driven directly.
type fakeListener struct{ net.Listener }

func (fakeListener) Close() error   { return nil }
func (fakeListener) Addr() net.Addr { return &net.TCPAddr{} }

// Bodies go both ways over h2c to an HTTP/1.1 app: streamed without a body limit, buffered and
// refused past it (413) with one.
func TestH2CBodiesToHTTP1App(t *testing.T) {
	echo := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, r.Method+" "+string(b))
	})
	for _, tc := range []struct {
		name     string
		maxBody  int
		body     string
		want     int
		wantBody string
	}{
		{"streamed", 0, strings.Repeat("a", 100<<10), 200, "POST " + strings.Repeat("a", 100<<10)},
		{"under the limit", 10, "0123456789", 200, "POST 0123456789"},
		{"over the limit", 10, "0123456789!", 413, `{"error":"request body too large"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := startRouter(t, Config{MaxBodyBytes: tc.maxBody})
			tr.SetApp("e", AppConfig{})
			tr.SetBackends("e", []Backend{echo.backend("e-1")})
			resp, body := tr.h2cDo(tr.h2cClient(), http.MethodPost, "e.localhost", "/", strings.NewReader(tc.body))
			if resp.StatusCode != tc.want || body != tc.wantBody {
				t.Fatalf("%d %.40q, want %d %.40q", resp.StatusCode, body, tc.want, tc.wantBody)
			}
		})
	}
}

// A streamed response of an HTTP/1.1 app (SSE) reaches an h2c client event by event.
func TestH2CClientGetsEventsAsTheyCome(t *testing.T) {
	up, next := sseUpstream(t)
	tr := startRouter(t, Config{})
	tr.SetApp("sse", AppConfig{})
	tr.SetBackends("sse", []Backend{up.backend("sse-1")})
	req, _ := http.NewRequest(http.MethodGet, "http://"+tr.addr+"/", nil)
	req.Host = "sse.localhost"
	resp, err := tr.h2cClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "data: one\n" || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("first event %q (%v), content type %q", line, err, resp.Header.Get("Content-Type"))
	}
	close(next)
	if rest, err := io.ReadAll(br); err != nil || string(rest) != "\ndata: two\n\n" {
		t.Fatalf("rest %q (%v)", rest, err)
	}
	waitFor(t, "the stream's accounting to end", func() bool {
		st, _ := tr.Stats("sse")
		return st.InFlight == 0 && st.Status[200] == 1
	})
}
