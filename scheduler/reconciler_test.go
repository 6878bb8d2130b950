package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/fnrun/fnrun/runtime"
)

func testApp(t *testing.T, manifest string) App {
	t.Helper()
	m, err := runtime.ParseManifest("fnrun.yml", []byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	return App{ID: "demo-0123456789", Name: "demo", Revision: 1, Manifest: *m, Command: runtime.Command{Args: []string{"./server"}}}
}

// newTestRun builds an app loop that the test ticks by hand with a fake clock.
func newTestRun(t *testing.T, manifest string) (*appRun, *fakeSandboxes, *fakeRouter, *fakeClock) {
	t.Helper()
	sbx, rt, clock := &fakeSandboxes{t: t}, newFakeRouter(), &fakeClock{now: time.Unix(1000, 0)}
	s := New(Config{Sandboxes: sbx, Router: rt, StateDir: t.TempDir(), StopGrace: time.Second, Now: clock.Now})
	a, err := newAppRun(s, testApp(t, manifest))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.logs.Close() })
	return a, sbx, rt, clock
}

// waitFor waits (on state-change notifications, no sleeps) until cond holds.
func waitFor(t *testing.T, a *appRun, what string, cond func() bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		a.mu.Lock()
		ok, ch := cond(), a.changed
		a.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func readyCount(a *appRun) int {
	n := 0
	for _, r := range a.replicas {
		if r.state == StateReady && !r.stopping {
			n++
		}
	}
	return n
}

func TestReconcilerStartsMinAndRoutesReady(t *testing.T) {
	a, sbx, rt, _ := newTestRun(t, "autoscale: {min: 2, max: 3}\n")
	now := time.Unix(1000, 0)
	a.tick(now)
	waitFor(t, a, "2 ready replicas", func() bool { return readyCount(a) == 2 })
	if got := len(sbx.all()); got != 2 {
		t.Errorf("started %d sandboxes, want 2", got)
	}
	if got := len(rt.ready(a.app.ID)); got != 2 {
		t.Errorf("router has %d ready backends, want 2", got)
	}
	a.tick(now.Add(250 * time.Millisecond))
	if got := len(sbx.all()); got != 2 {
		t.Errorf("a second tick started more sandboxes: %d", got)
	}
}

func TestReconcilerReplacesCrashedReplicaWithBackoff(t *testing.T) {
	a, sbx, rt, clock := newTestRun(t, "autoscale: {min: 1, max: 1}\n")
	now := time.Unix(1000, 0)
	a.tick(now)
	waitFor(t, a, "1 ready replica", func() bool { return readyCount(a) == 1 })
	first := sbx.all()[0]
	first.crash(3)
	waitFor(t, a, "the crash recorded", func() bool { return len(a.exited) == 1 && len(a.replicas) == 0 })
	if len(rt.ready(a.app.ID)) != 0 {
		t.Errorf("the crashed replica is still routed")
	}
	if a.exited[0].State != StateCrashed || a.exited[0].ExitCode != 3 {
		t.Errorf("exited = %+v", a.exited[0])
	}
	// Within the backoff nothing starts; after it, a new replica does.
	a.tick(clock.Set(now.Add(100 * time.Millisecond)))
	if got := len(sbx.all()); got != 1 {
		t.Fatalf("restarted inside the backoff: %d sandboxes", got)
	}
	a.tick(clock.Set(now.Add(2 * time.Second)))
	waitFor(t, a, "a replacement ready", func() bool { return readyCount(a) == 1 })
	if got := len(sbx.all()); got != 2 {
		t.Errorf("%d sandboxes, want 2", got)
	}
	if a.restarts != 1 {
		t.Errorf("restarts = %d, want 1", a.restarts)
	}
}

// TestReconcilerScalesOnCPU: one C3 replica burning its whole core for over a second gets a
// second replica; after the load the app goes back to one after the down window, and the
// replica removed is drained first.
func TestReconcilerScalesOnCPU(t *testing.T) {
	a, sbx, rt, _ := newTestRun(t, "instance: C3\nautoscale: {min: 1, max: 2, metric: cpu, target: 40, scale_down_window: 5s}\n")
	now := time.Unix(1000, 0)
	a.tick(now)
	waitFor(t, a, "1 ready replica", func() bool { return readyCount(a) == 1 })
	busy := sbx.all()[0]
	tick := 250 * time.Millisecond
	var scaledAt time.Duration
	for i := 1; i <= 12 && scaledAt == 0; i++ {
		busy.addUsage(uint64(tick.Microseconds())) // 100% of one core
		a.tick(now.Add(time.Duration(i) * tick))
		if a.desired == 2 {
			scaledAt = time.Duration(i) * tick
		}
	}
	if scaledAt == 0 || scaledAt > 1500*time.Millisecond {
		t.Fatalf("desired %d after 3s of 100%% CPU (scaled at %s), want 2 within 1.5s", a.desired, scaledAt)
	}
	waitFor(t, a, "2 ready replicas", func() bool { return readyCount(a) == 2 })
	// Load ends: both idle. Nothing goes before the 5 s window; then one replica goes.
	start := now.Add(scaledAt)
	for i := 1; i <= 16; i++ {
		a.tick(start.Add(time.Duration(i) * tick))
		if a.desired != 2 {
			t.Fatalf("scaled down after %s, before the 5s window", time.Duration(i)*tick)
		}
	}
	for i := 17; i <= 40 && a.desired == 2; i++ {
		a.tick(start.Add(time.Duration(i) * tick))
	}
	if a.desired != 1 {
		t.Fatalf("desired = %d after the window, want 1", a.desired)
	}
	waitFor(t, a, "one replica left", func() bool { return len(a.replicas) == 1 })
	rt.mu.Lock()
	drained := len(rt.drained)
	rt.mu.Unlock()
	if drained != 1 {
		t.Errorf("drained %d replicas, want 1", drained)
	}
	if len(a.decisions) != 2 {
		t.Errorf("decisions = %d, want 2 (up, down): %+v", len(a.decisions), a.decisions)
	}
}

func TestSchedulerRemoveStopsEverything(t *testing.T) {
	sbx, rt := &fakeSandboxes{t: t}, newFakeRouter()
	s := New(Config{Sandboxes: sbx, Router: rt, StateDir: t.TempDir(), StopGrace: time.Second, Tick: time.Hour})
	app := testApp(t, "autoscale: {min: 2, max: 2}\n")
	if err := s.Run(app); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx, app.ID, 2, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, app.ID, true); err != nil {
		t.Fatal(err)
	}
	for _, sb := range sbx.all() {
		if !sb.stopped {
			t.Errorf("sandbox %s not stopped", sb.hostname)
		}
	}
	if _, ok := rt.apps[app.ID]; ok {
		t.Errorf("route not removed")
	}
	if _, err := s.Status(app.ID); err == nil {
		t.Errorf("status of a removed app succeeded")
	}
}
