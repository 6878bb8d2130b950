package router

import (
	"net/http"
	"testing"
	"time"
)

type result struct {
	code int
	body string
}

func (tr *testRouter) getAsync(host, path string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		code, body := tr.get(host, path)
		ch <- result{code, body}
	}()
	return ch
}

func TestActivatorQueuesUntilBackendReady(t *testing.T) {
	activated := make(chan string, 8)
	tr := startRouter(t, Config{Activate: func(id string) { activated <- id }})
	tr.SetApp("cold", AppConfig{})

	first := tr.getAsync("cold.localhost", "/")
	if id := recvWithin(t, activated, "Activate"); id != "cold" {
		t.Fatalf("Activate(%q), want cold", id)
	}
	second := tr.getAsync("cold.localhost", "/")
	waitFor(t, "two queued requests", func() bool {
		st, _ := tr.Stats("cold")
		return st.Queued == 2 && st.InFlight == 2
	})

	up := textUpstream(t, "warm")
	tr.SetBackends("cold", []Backend{up.backend("cold-1")})
	for i, ch := range []<-chan result{first, second} {
		if r := recvWithin(t, ch, "queued request"); r.code != 200 || r.body != "warm" {
			t.Fatalf("queued request %d: %d %q", i, r.code, r.body)
		}
	}
	if n := len(activated); n != 0 {
		t.Fatalf("Activate called %d more times, want once per cold start", n)
	}
	if st, _ := tr.Stats("cold"); st.Queued != 0 || st.InFlight != 0 || st.Status[200] != 2 {
		t.Fatalf("stats after warm-up: %+v", st)
	}
}

func TestActivatorQueueFullAndRemovedApp(t *testing.T) {
	activated := make(chan string, 8)
	tr := startRouter(t, Config{QueueSize: 1, Activate: func(id string) { activated <- id }})
	tr.SetApp("cold", AppConfig{})

	first := tr.getAsync("cold.localhost", "/")
	recvWithin(t, activated, "Activate")
	code, body := tr.get("cold.localhost", "/")
	if code != http.StatusServiceUnavailable || body != `{"error":"no ready replica","app":"cold"}` {
		t.Fatalf("over the queue: %d %q", code, body)
	}

	tr.RemoveApp("cold")
	if r := recvWithin(t, first, "queued request"); r.code != http.StatusServiceUnavailable {
		t.Fatalf("queued request of a removed app: %d %q, want 503", r.code, r.body)
	}
	if code, _ := tr.get("cold.localhost", "/"); code != http.StatusNotFound {
		t.Fatalf("removed app: %d, want 404", code)
	}
	if _, ok := tr.Stats("cold"); ok {
		t.Fatal("Stats of a removed app")
	}
}

func TestActivatorWaitPastTimeoutIs503(t *testing.T) {
	activated := make(chan string, 8)
	tr := startRouter(t, Config{Activate: func(id string) { activated <- id }})
	tr.SetApp("cold", AppConfig{Timeout: 100 * time.Millisecond})

	start := time.Now()
	code, body := tr.get("cold.localhost", "/")
	if code != http.StatusServiceUnavailable || body != `{"error":"no ready replica","app":"cold"}` {
		t.Fatalf("got %d %q", code, body)
	}
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Fatalf("503 after %v, before the 100ms timeout", took)
	}
	recvWithin(t, activated, "first Activate")
	// The queue emptied without a replica: the next cold request pokes Activate again.
	tr.get("cold.localhost", "/")
	recvWithin(t, activated, "second Activate")
	if st, _ := tr.Stats("cold"); st.Status[503] != 2 || st.Queued != 0 || st.InFlight != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestShutdownAnswersQueuedRequestsAndFinishesInFlight(t *testing.T) {
	g := newGate()
	defer g.open()
	up := newUpstream(t, g.hold("busy"))
	tr := startRouter(t, Config{Activate: func(string) {}})
	tr.SetApp("busy", AppConfig{})
	tr.SetApp("cold", AppConfig{})
	tr.SetBackends("busy", []Backend{up.backend("b1")})

	inflight := tr.getAsync("busy.localhost", "/")
	recvWithin(t, g.entered, "in-flight request")
	queued := tr.getAsync("cold.localhost", "/")
	waitFor(t, "queued request", func() bool { st, _ := tr.Stats("cold"); return st.Queued == 1 })

	shut := make(chan error, 1)
	go func() { shut <- tr.Shutdown(t.Context()) }()
	if r := recvWithin(t, queued, "queued request"); r.code != http.StatusServiceUnavailable {
		t.Fatalf("queued request at shutdown: %d", r.code)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a request was in flight", err)
	default:
	}
	g.open()
	if r := recvWithin(t, inflight, "in-flight request"); r.code != 200 || r.body != "busy" {
		t.Fatalf("in-flight request at shutdown: %d %q", r.code, r.body)
	}
	if err := recvWithin(t, shut, "Shutdown"); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}
