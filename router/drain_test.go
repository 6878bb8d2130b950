package router

import (
	"context"
	"errors"
	"testing"
)

func TestDrainWaitsForInFlightAndStopsNewRequests(t *testing.T) {
	g := newGate()
	defer g.open()
	a := newUpstream(t, g.hold("a"))
	b := textUpstream(t, "b")
	tr := startRouter(t, Config{PolicyFunc: alwaysFirst})
	tr.SetApp("d", AppConfig{})
	tr.SetBackends("d", []Backend{a.backend("a"), b.backend("b")})

	first := tr.getAsync("d.localhost", "/")
	recvWithin(t, g.entered, "request on a")

	// A cancelled context: Drain stops new requests at once, then reports it could not wait.
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.Drain(cancelled, "d", "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Drain with a cancelled ctx: %v, want context.Canceled", err)
	}
	for i := 0; i < 5; i++ {
		if code, body := tr.get("d.localhost", "/"); code != 200 || body != "b" {
			t.Fatalf("request after Drain: %d %q, want b", code, body)
		}
	}
	if st, _ := tr.Stats("d"); st.Backends["a"] != 1 || st.Backends["b"] != 0 {
		t.Fatalf("in-flight per backend during drain: %v", st.Backends)
	}

	drained := make(chan error, 1)
	go func() { drained <- tr.Drain(context.Background(), "d", "a") }()
	select {
	case err := <-drained:
		t.Fatalf("Drain returned (%v) with a request in flight", err)
	default:
	}
	g.open()
	if r := recvWithin(t, first, "in-flight request"); r.code != 200 || r.body != "a" {
		t.Fatalf("in-flight request on the drained backend: %d %q", r.code, r.body)
	}
	if err := recvWithin(t, drained, "Drain"); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if a.hits.Load() != 1 {
		t.Fatalf("drained backend got %d requests, want only the first", a.hits.Load())
	}
	if st, _ := tr.Stats("d"); len(st.Backends) != 1 || st.InFlight != 0 {
		t.Fatalf("after drain: backends %v inflight %d", st.Backends, st.InFlight)
	}
}

func TestSetBackendsLetsRemovedBackendFinish(t *testing.T) {
	g := newGate()
	defer g.open()
	a := newUpstream(t, g.hold("a"))
	b := textUpstream(t, "b")
	tr := startRouter(t, Config{})
	tr.SetApp("s", AppConfig{})
	tr.SetBackends("s", []Backend{a.backend("a")})
	first := tr.getAsync("s.localhost", "/")
	recvWithin(t, g.entered, "request on a")

	tr.SetBackends("s", []Backend{b.backend("b")})
	if code, body := tr.get("s.localhost", "/"); code != 200 || body != "b" {
		t.Fatalf("after SetBackends: %d %q", code, body)
	}
	g.open()
	if r := recvWithin(t, first, "request on removed backend"); r.code != 200 || r.body != "a" {
		t.Fatalf("in-flight request on a removed backend: %d %q", r.code, r.body)
	}
	if err := tr.Drain(context.Background(), "s", "a"); err != nil {
		t.Fatalf("Drain of an idle removed backend: %v", err)
	}
}

func TestDrainUnknownApp(t *testing.T) {
	tr := startRouter(t, Config{})
	if err := tr.Drain(context.Background(), "ghost", "x"); !errors.Is(err, ErrUnknownApp) {
		t.Fatalf("Drain(ghost): %v, want ErrUnknownApp", err)
	}
	tr.SetApp("app", AppConfig{})
	if err := tr.Drain(context.Background(), "app", "never-seen"); err != nil {
		t.Fatalf("Drain of an unknown backend: %v", err)
	}
}
