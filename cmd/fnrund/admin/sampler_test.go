package admin

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/fnrun/fnrun/scheduler"
)

func TestSamplerHistory(t *testing.T) {
	apps, rt, clk := &fakeApps{}, &fakeStats{}, &fakeClock{t: t0}
	s := NewSampler(apps, rt, clk.now, 3)

	apps.set(app("a", 40, 1, map[string]float64{"a-1": 97}))
	rt.set("a", stats(map[int]uint64{3: 10}, 0.1)) // 10 requests ≤ 10 ms
	s.Sample()
	clk.advance(time.Second)
	apps.set(app("a", 40, 2, map[string]float64{"a-1": 99, "a-2": 12}))
	// 20 more requests: 10 more ≤ 10 ms (index 3), 10 in (0.5, 1] (index 9).
	rt.set("a", stats(map[int]uint64{3: 20, 9: 10}, 8))
	s.Sample()

	got, ok := s.Samples("a")
	if !ok || len(got) != 2 {
		t.Fatalf("Samples(a) = %d samples, %v; want 2, true", len(got), ok)
	}
	first, second := got[0], got[1]
	if first.HasLatency || first.RPS != 0 {
		t.Errorf("first sample has latency %v / rps %v; a first sample has no previous counters", first.HasLatency, first.RPS)
	}
	if second.RPS != 20 {
		t.Errorf("rps = %v, want 20 (20 requests in 1 s)", second.RPS)
	}
	if !second.HasLatency {
		t.Fatal("second sample has no latency")
	}
	// 20 new requests: 10 in (0.005, 0.01], 10 in (0.5, 1]. p50 = rank 10 → top of the 10 ms bucket.
	if math.Abs(second.P50-0.01) > 1e-9 {
		t.Errorf("p50 = %v, want 0.01", second.P50)
	}
	// p99 = rank 19.8 → in (0.5, 1]: 0.5 + 0.5×9.8/10 = 0.99.
	if math.Abs(second.P99-0.99) > 1e-9 {
		t.Errorf("p99 = %v, want 0.99", second.P99)
	}
	if second.Desired != 2 || second.Ready != 2 || second.Target != 40 {
		t.Errorf("desired/ready/target = %d/%d/%v, want 2/2/40", second.Desired, second.Ready, second.Target)
	}
	if second.CPU["a-1"] != 99 || second.CPU["a-2"] != 12 || len(second.CPU) != 2 {
		t.Errorf("cpu = %v, want a-1 99, a-2 12", second.CPU)
	}
	if !second.Time.Equal(t0.Add(time.Second)) {
		t.Errorf("time = %v, want the fake clock's %v", second.Time, t0.Add(time.Second))
	}
}

func TestSamplerRingIsBounded(t *testing.T) {
	apps, clk := &fakeApps{}, &fakeClock{t: t0}
	s := NewSampler(apps, nil, clk.now, 3)
	for i := 0; i < 5; i++ {
		apps.set(app("a", 40, 1, map[string]float64{"a-1": float64(i)}))
		s.Sample()
		clk.advance(time.Second)
	}
	got, _ := s.Samples("a")
	if len(got) != 3 {
		t.Fatalf("kept %d samples, want 3", len(got))
	}
	for i, sm := range got {
		if want := float64(i + 2); sm.CPU["a-1"] != want {
			t.Errorf("sample %d cpu = %v, want %v (oldest first, oldest two dropped)", i, sm.CPU["a-1"], want)
		}
	}
}

func TestSamplerForgetsRemovedApps(t *testing.T) {
	apps := &fakeApps{}
	s := NewSampler(apps, nil, (&fakeClock{t: t0}).now, 10)
	apps.set(app("a", 40, 1, nil), app("b", 40, 1, nil))
	s.Sample()
	apps.set(app("b", 40, 1, nil))
	s.Sample()
	if _, ok := s.Samples("a"); ok {
		t.Error("removed app a still has a history")
	}
	if got, ok := s.Samples("b"); !ok || len(got) != 2 {
		t.Errorf("app b has %d samples, want 2", len(got))
	}
	if l := s.Latest(); len(l) != 1 || l[0].ID != "b" {
		t.Errorf("Latest = %v, want only b", l)
	}
}

func TestSamplerCounterReset(t *testing.T) {
	apps, rt, clk := &fakeApps{}, &fakeStats{}, &fakeClock{t: t0}
	s := NewSampler(apps, rt, clk.now, 10)
	apps.set(app("a", 40, 1, nil))
	rt.set("a", stats(map[int]uint64{3: 100}, 1))
	s.Sample()
	clk.advance(2 * time.Second)
	rt.set("a", stats(map[int]uint64{9: 4}, 3)) // the router forgot the app and counted anew
	s.Sample()
	got, _ := s.Samples("a")
	if got[1].RPS != 0 {
		t.Errorf("rps after a counter reset = %v, want 0 (no negative rate)", got[1].RPS)
	}
	if !got[1].HasLatency || got[1].P50 <= 0.5 {
		t.Errorf("latency after reset = %v (has %v), want the new observations in (0.5, 1]", got[1].P50, got[1].HasLatency)
	}
}

func TestSamplerRunSamplesOnEveryTick(t *testing.T) {
	apps := &fakeApps{}
	apps.set(app("a", 40, 1, nil))
	s := NewSampler(apps, nil, (&fakeClock{t: t0}).now, 10)
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx, tick); close(done) }()
	tick <- t0 // unbuffered: returns once Run took it, i.e. after the first sample
	tick <- t0 // and after the second
	cancel()
	<-done
	if got, _ := s.Samples("a"); len(got) != 3 {
		t.Errorf("Run took %d samples, want 3 (one at start, one per tick)", len(got))
	}
}

func TestScalingEventsCountEachDecisionOnce(t *testing.T) {
	apps := &fakeApps{}
	s := NewSampler(apps, nil, (&fakeClock{t: t0}).now, 10)
	st := app("a", 40, 2, nil)
	st.Decisions = []scheduler.Decision{{Time: t0, Current: 1, Desired: 2}}
	apps.set(st)
	s.Sample()
	s.Sample() // the same decision seen again
	st.Decisions = append(st.Decisions, scheduler.Decision{Time: t0.Add(time.Minute), Current: 2, Desired: 1},
		scheduler.Decision{Time: t0.Add(2 * time.Minute), Current: 1, Desired: 1}) // unchanged: not an event
	apps.set(st)
	ev := s.scalingEvents(apps.List())["a"]
	if ev.up != 1 || ev.down != 1 {
		t.Errorf("events up/down = %d/%d, want 1/1", ev.up, ev.down)
	}
}
