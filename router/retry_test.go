package router

import (
	"net/http"
	"strings"
	"testing"
)

func TestRetryOnlyIdempotentRequestsOnDialFailure(t *testing.T) {
	live := textUpstream(t, "live")
	tr := startRouter(t, Config{PolicyFunc: alwaysFirst}) // always tries the dead backend first
	tr.SetApp("r", AppConfig{})
	tr.SetBackends("r", []Backend{{ID: "dead", Addr: closedAddr(t)}, live.backend("live")})

	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodOptions} {
		if code, _, _ := tr.call(m, "r.localhost", "/", nil, nil); code != 200 {
			t.Errorf("%s via the dead backend: %d, want 200 after a retry", m, code)
		}
	}
	if got := live.hits.Load(); got != 3 {
		t.Fatalf("live hits %d after 3 idempotent requests, want 3", got)
	}

	code, body, _ := tr.call(http.MethodPost, "r.localhost", "/", strings.NewReader("x"), nil)
	if code != http.StatusBadGateway || body != `{"error":"bad gateway","app":"r"}` {
		t.Fatalf("POST: %d %q, want 502 bad gateway", code, body)
	}
	if got := live.hits.Load(); got != 3 {
		t.Fatalf("POST was retried: live hits %d, want 3", got)
	}

	code, _, _ = tr.call(http.MethodPost, "r.localhost", "/", strings.NewReader("x"), http.Header{"Idempotency-Key": {"k1"}})
	if code != 200 || live.hits.Load() != 4 {
		t.Fatalf("POST with Idempotency-Key: %d, live hits %d; want 200 and 4", code, live.hits.Load())
	}
	st, _ := tr.Stats("r")
	if st.Status[502] != 1 || st.Status[200] != 4 {
		t.Fatalf("status counts %v", st.Status)
	}
}

func TestPostIsNeverSentTwice(t *testing.T) {
	crash := newHangupBackend(t)
	live := textUpstream(t, "live")
	tr := startRouter(t, Config{PolicyFunc: alwaysFirst})
	tr.SetApp("c", AppConfig{})
	tr.SetBackends("c", []Backend{{ID: "crash", Addr: crash.addr}, live.backend("live")})

	code, _, _ := tr.call(http.MethodPost, "c.localhost", "/pay", strings.NewReader("{}"), nil)
	if code != http.StatusBadGateway {
		t.Fatalf("POST to a backend that hung up: %d, want 502", code)
	}
	if crash.hits.Load() != 1 || live.hits.Load() != 0 {
		t.Fatalf("POST delivered %d+%d times, want exactly once", crash.hits.Load(), live.hits.Load())
	}

	// A GET whose backend hung up before any response byte is idempotent: it goes once more,
	// to another replica (a replica killed mid-request must not fail a GET).
	if code, _ := tr.get("c.localhost", "/"); code != http.StatusOK {
		t.Fatalf("GET on a connection that hung up: %d, want 200 from the other replica", code)
	}
	if crash.hits.Load() != 2 || live.hits.Load() != 1 {
		t.Fatalf("GET hits crash=%d live=%d, want 2 and 1", crash.hits.Load(), live.hits.Load())
	}
}

func TestStaleKeepAliveConnectionIsRetriedOnlyForIdempotent(t *testing.T) {
	oneShot := newOneShotBackend(t)
	tr := startRouter(t, Config{})
	tr.SetApp("k", AppConfig{})
	tr.SetBackends("k", []Backend{{ID: "k1", Addr: oneShot.addr}})

	// 1st GET opens a connection; the backend answers keep-alive, then closes it while it idles.
	if code, body := tr.get("k.localhost", "/"); code != 200 || body != "ok" {
		t.Fatalf("first GET: %d %q", code, body)
	}
	recvWithin(t, oneShot.closed, "the backend closing its idle connection")
	// 2nd GET reuses the dead pooled connection, fails before any response byte, and is retried
	// once (on the only backend, over a new connection).
	if code, body := tr.get("k.localhost", "/"); code != 200 || body != "ok" {
		t.Fatalf("GET over a stale connection: %d %q, want a transparent retry", code, body)
	}
	recvWithin(t, oneShot.closed, "the backend closing its idle connection")
	// A POST over the stale connection is not retried.
	if code, _, _ := tr.call(http.MethodPost, "k.localhost", "/", strings.NewReader("x"), nil); code != http.StatusBadGateway {
		t.Fatalf("POST over a stale connection: %d, want 502", code)
	}
	if got := oneShot.served.Load(); got != 2 {
		t.Fatalf("backend served %d requests, want 2", got)
	}
}

func TestNoRetryTargetIs502(t *testing.T) {
	tr := startRouter(t, Config{})
	tr.SetApp("one", AppConfig{})
	tr.SetBackends("one", []Backend{{ID: "dead", Addr: closedAddr(t)}})
	if code, body := tr.get("one.localhost", "/"); code != http.StatusBadGateway || body != `{"error":"bad gateway","app":"one"}` {
		t.Fatalf("got %d %q", code, body)
	}
	if st, _ := tr.Stats("one"); st.Backends["dead"] != 0 || st.InFlight != 0 {
		t.Fatalf("leaked in-flight: %+v", st)
	}
}
