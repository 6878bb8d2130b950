package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fnrun/fnrun/cmd/internal/api"
	"github.com/fnrun/fnrun/runtime"
	"github.com/fnrun/fnrun/scheduler"
)

func TestSparkline(t *testing.T) {
	tests := []struct {
		vals []float64
		want string
	}{
		{nil, ""},
		{[]float64{0, 12.5, 25, 37.5, 50, 62.5, 75, 87.5}, "▁▂▃▄▅▆▇█"},
		{[]float64{-5, 100, 250}, "▁██"},
		{[]float64{12.4}, "▁"},
	}
	for _, tt := range tests {
		if got := sparkline(tt.vals); got != tt.want {
			t.Errorf("sparkline(%v) = %q, want %q", tt.vals, got, tt.want)
		}
	}
}

func TestCPUHistoryBoundedAndForgets(t *testing.T) {
	h := newCPUHistory(3)
	for i := 0; i < 5; i++ {
		h.add([]api.App{topApp("a", 10*float64(i), "a-1")})
	}
	if got := h.get("a", "a-1"); len(got) != 3 || got[0] != 20 || got[2] != 40 {
		t.Errorf("history = %v, want the newest three [20 30 40]", got)
	}
	h.add([]api.App{topApp("a", 1, "a-2")})
	if got := h.get("a", "a-1"); got != nil {
		t.Errorf("gone replica kept %v", got)
	}
}

// fakeLister returns canned apps, one list per call (the last one repeats).
type fakeLister struct {
	lists [][]api.App
	err   error
}

func (f *fakeLister) List(context.Context) ([]api.App, error) {
	if f.err != nil {
		return nil, f.err
	}
	l := f.lists[0]
	if len(f.lists) > 1 {
		f.lists = f.lists[1:]
	}
	return l, nil
}

func TestTopOnceFrame(t *testing.T) {
	a := topApp("fastapi-0123456789", 97, "fastapi-0123456789-aaaaa", "fastapi-0123456789-bbbbb")
	a.Desired, a.Ready = 2, 2
	a.Decisions = []scheduler.Decision{{Time: time.Now(), Current: 1, Desired: 2, Reason: "cpu 97% > target 40%"},
		{Time: time.Now(), Current: 2, Desired: 2, Reason: "cpu 48% within tolerance"}}
	var out strings.Builder
	if err := runTop(context.Background(), &fakeLister{lists: [][]api.App{{a}}}, &out, "", true, time.Second); err != nil {
		t.Fatal(err)
	}
	frame := out.String()
	for _, want := range []string{"fnrun top — 1 app", "fastapi-0123456789  Serving", "replicas 2 ready / 2 desired", "cpu target 40%",
		"fastapi-0123456789-aaaaa", "fastapi-0123456789-bbbbb", "97.0", "█", "last scale", "1 → 2  cpu 97% > target 40%", "autoscaler now: cpu 48% within tolerance"} {
		if !strings.Contains(frame, want) {
			t.Errorf("frame lacks %q:\n%s", want, frame)
		}
	}
	if strings.Contains(frame, clearScreen) {
		t.Error("--once frame clears the screen")
	}
}

func TestTopOnceErrors(t *testing.T) {
	var out strings.Builder
	down := errors.New("fnrund is not running")
	if err := runTop(context.Background(), &fakeLister{err: down}, &out, "", true, time.Second); !errors.Is(err, down) {
		t.Errorf("daemon down: err = %v, want %v", err, down)
	}
	err := runTop(context.Background(), &fakeLister{lists: [][]api.App{{topApp("a", 1, "a-1")}}}, &out, "nope", true, time.Second)
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown app: err = %v, want one naming it", err)
	}
}

func TestTopRedrawsUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	lister := &cancelAfter{n: 3, cancel: cancel, app: topApp("a", 50, "a-1")}
	var out strings.Builder
	if err := runTop(ctx, lister, &out, "", false, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), clearScreen); n != 2 {
		t.Errorf("drew %d frames, want 2 (the third poll was cancelled)", n)
	}
	if !strings.Contains(out.String(), "▅▅") {
		t.Errorf("second frame lacks a two-sample sparkline:\n%s", out.String())
	}
}

// cancelAfter cancels the context on its n-th call.
type cancelAfter struct {
	n, calls int
	cancel   func()
	app      api.App
}

func (c *cancelAfter) List(context.Context) ([]api.App, error) {
	c.calls++
	if c.calls >= c.n {
		c.cancel()
		return nil, context.Canceled
	}
	return []api.App{c.app}, nil
}

func topApp(id string, cpu float64, hosts ...string) api.App {
	a := api.App{AppStatus: scheduler.AppStatus{
		App: scheduler.App{ID: id, Name: id, Revision: 1, Manifest: runtime.Manifest{Instance: "C3",
			Autoscale: runtime.Autoscale{Min: 1, Max: 2, Metric: "cpu", Target: 40}}},
		Phase: scheduler.PhaseServing, Desired: len(hosts), Ready: len(hosts),
	}}
	for _, h := range hosts {
		a.Replicas = append(a.Replicas, scheduler.ReplicaStatus{Hostname: h, State: scheduler.StateReady, CPUPercent: cpu, MemoryBytes: 40 << 20})
	}
	return a
}
