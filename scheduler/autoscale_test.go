package scheduler

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// asT0 is the fake clock's origin; asTick the collector's sampling period.
var asT0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const asTick = 250 * time.Millisecond

// asSec turns seconds since asT0 into a time.
func asSec(s float64) time.Time { return asT0.Add(time.Duration(s * float64(time.Second))) }

// asUser is the user's manifest: autoscale {min 1, max 2, metric cpu, target 40} on C3.
var asUser = ScaleSpec{Metric: "cpu", Target: 40, Min: 1, Max: 2, Instance: "C3"}

// asReady is a ready replica per CPU value (percent of quota).
func asReady(cpus ...float64) []ReplicaSample {
	rs := make([]ReplicaSample, len(cpus))
	for i, c := range cpus {
		rs[i] = ReplicaSample{Name: fmt.Sprintf("r%d", i), Ready: true, CPU: c}
	}
	return rs
}

// asCPU is one snapshot per tick from second from to second to (both included), all with replicas rs.
func asCPU(from, to float64, rs []ReplicaSample) []Snapshot {
	var h []Snapshot
	for t := asSec(from); !t.After(asSec(to)); t = t.Add(asTick) {
		h = append(h, Snapshot{Time: t, Replicas: rs})
	}
	return h
}

// asReq is one snapshot per tick from second from to second to with router counters only.
func asReq(from, to, rps, inFlight float64) []Snapshot {
	var h []Snapshot
	for t := asSec(from); !t.After(asSec(to)); t = t.Add(asTick) {
		h = append(h, Snapshot{Time: t, RPS: rps, InFlight: inFlight})
	}
	return h
}

// asJoin concatenates histories, oldest first.
func asJoin(hs ...[]Snapshot) []Snapshot {
	var out []Snapshot
	for _, h := range hs {
		out = append(out, h...)
	}
	return out
}

func TestDecide(t *testing.T) {
	missing := ReplicaSample{Name: "m", Ready: true, Missing: true}
	starting := func(cpu float64) ReplicaSample { return ReplicaSample{Name: "s", CPU: cpu} }
	rps := ScaleSpec{Metric: "rps", Target: 10, Min: 0, Max: 3}
	conc := ScaleSpec{Metric: "concurrency", Target: 1, Min: 0, Max: 10}
	withMax := func(s ScaleSpec, max int) ScaleSpec { s.Max = max; return s }
	withMin := func(s ScaleSpec, min int) ScaleSpec { s.Min = min; return s }
	withTarget := func(s ScaleSpec, target float64) ScaleSpec { s.Target = target; return s }

	tests := []struct {
		name    string
		spec    ScaleSpec
		current int
		history []Snapshot
		now     float64 // seconds since asT0
		want    int
		reason  string // exact when it has no "…"; else every "…"-separated part must appear in order
	}{
		// The user's scenario.
		{
			name: "user: 1 C3 replica at 100% for 1s, target 40 → 2 (max 2)",
			spec: asUser, current: 1,
			history: asJoin(asCPU(0, 10, asReady(1)), asCPU(10.25, 11, asReady(100))),
			now:     11, want: 2,
			reason: "cpu 100% of C3 > target 40% on 1 ready replica → 2 (max 2)",
		},
		{
			name: "worked example: 97% → ceil(2.43)=3, clamped to max 2",
			spec: asUser, current: 1,
			history: asCPU(0, 5, asReady(97)),
			now:     5, want: 2,
			reason: "cpu 97% of C3 > target 40% on 1 ready replica → 2 (max 2)",
		},
		{
			name: "already at max under load: holds 2",
			spec: asUser, current: 2,
			history: asCPU(0, 40, asReady(100, 100)),
			now:     40, want: 2,
			reason: "cpu 100% of C3 > target 40% on 2 ready replicas → 2 (max 2)",
		},

		// Tolerance band.
		{
			name: "43% is within 10% of 40: keep 1",
			spec: withMax(asUser, 4), current: 1,
			history: asCPU(0, 40, asReady(43)),
			now:     40, want: 1,
			reason: "cpu 43% of C3 within 10% of target 40% on 1 ready replica → 1",
		},
		{
			name: "44% is on the band's edge: keep 1",
			spec: withMax(asUser, 4), current: 1,
			history: asCPU(0, 40, asReady(44)),
			now:     40, want: 1,
			reason: "within 10% of target 40%…→ 1",
		},
		{
			name: "45% is outside the band: 2",
			spec: withMax(asUser, 4), current: 1,
			history: asCPU(0, 40, asReady(45)),
			now:     40, want: 2,
			reason: "cpu 45% of C3 > target 40% on 1 ready replica → 2",
		},
		{
			name: "2 replicas at 37% for 40s (within band) stay 2",
			spec: withMax(asUser, 4), current: 2,
			history: asCPU(0, 40, asReady(37, 37)),
			now:     40, want: 2,
			reason: "cpu 37% of C3 within 10% of target 40% on 2 ready replicas → 2",
		},
		{
			name: "tolerance 0.5 widens the band: 55% keeps 1",
			spec: func() ScaleSpec { s := withMax(asUser, 4); s.Tolerance = 0.5; return s }(), current: 1,
			history: asCPU(0, 5, asReady(55)),
			now:     5, want: 1,
			reason: "cpu 55% of C3 within 50% of target 40% on 1 ready replica → 1",
		},

		// Scale-down only after the stable window.
		{
			name: "low for exactly the 30s window: 2 → 1",
			spec: asUser, current: 2,
			history: asJoin(asCPU(0, 10, asReady(40, 40)), asCPU(10.25, 40, asReady(2, 2))),
			now:     40, want: 1,
			reason: "cpu 2% of C3 < target 40% on 2 ready replicas → 1 after 30s below",
		},
		{
			name: "low for one tick less than the window: hold 2",
			spec: asUser, current: 2,
			history: asJoin(asCPU(0, 10, asReady(40, 40)), asCPU(10.25, 39.75, asReady(2, 2))),
			now:     39.75, want: 2,
			reason: "cpu 2% of C3 < target 40% on 2 ready replicas; holding 2: highest recommendation in the last 30s is 2",
		},
		{
			name: "a busy tick 20s ago holds 3 replicas",
			spec: withMax(asUser, 4), current: 3,
			history: asJoin(asCPU(0, 20, asReady(5, 5, 5)), asCPU(20.25, 20.25, asReady(90, 90, 90)), asCPU(20.5, 40, asReady(5, 5, 5))),
			now:     40, want: 3,
			reason: "cpu 5% of C3 < target 40% on 3 ready replicas; holding 3: highest recommendation in the last 30s is 7",
		},
		{
			name: "just after start: only 10s of history, no scale-down",
			spec: asUser, current: 2,
			history: asCPU(0, 10, asReady(2, 2)),
			now:     10, want: 2,
			reason: "cpu 2% of C3 < target 40% on 2 ready replicas; holding 2: only 10s of history, scale-down needs 30s",
		},
		{
			name: "custom 5s down window",
			spec: func() ScaleSpec { s := asUser; s.ScaleDownWindow = 5 * time.Second; return s }(), current: 2,
			history: asJoin(asCPU(0, 10, asReady(80, 80)), asCPU(10.25, 15, asReady(2, 2))),
			now:     15, want: 1,
			reason: "cpu 2% of C3 < target 40% on 2 ready replicas → 1 after 5s below",
		},
		{
			name: "scale-down goes straight to the recommendation, clamped at min",
			spec: withMax(withMin(asUser, 2), 8), current: 6,
			history: asCPU(0, 40, asReady(3, 3, 3, 3, 3, 3)),
			now:     40, want: 2,
			reason: "cpu 3% of C3 < target 40% on 6 ready replicas → 2 after 30s below (min 2)",
		},

		// Missing samples: 0% when scaling up, 100% when scaling down.
		{
			name: "up: 80% + missing averages 40 (missing as 0%): keep 2, not 4",
			spec: withMax(asUser, 4), current: 2,
			history: asCPU(0, 5, []ReplicaSample{{Name: "a", Ready: true, CPU: 80}, missing}),
			now:     5, want: 2,
			reason: "cpu 40% of C3 within 10% of target 40% on 2 ready replicas (1 missing counted as 0%) → 2",
		},
		{
			name: "up: 100% + missing still scales: avg 50, ceil(2×50/20)=5 → max 4",
			spec: withTarget(withMax(asUser, 4), 20), current: 2,
			history: asCPU(0, 5, []ReplicaSample{{Name: "a", Ready: true, CPU: 100}, missing}),
			now:     5, want: 4,
			reason: "cpu 50% of C3 > target 20% on 2 ready replicas (1 missing counted as 0%) → 4 (max 4)",
		},
		{
			name: "down: 10% + missing averages 55 (missing as 100%): keep 2, not 1",
			spec: asUser, current: 2,
			history: asCPU(0, 40, []ReplicaSample{{Name: "a", Ready: true, CPU: 10}, missing}),
			now:     40, want: 2,
			reason: "cpu 55% of C3 > target 40% on 2 ready replicas (1 missing counted as 100%) → 2",
		},
		{
			name: "down: 3×5% + missing averages 28.75: only down to 3, not 1",
			spec: withMax(asUser, 4), current: 4,
			history: asCPU(0, 40, append(asReady(5, 5, 5), missing)),
			now:     40, want: 3,
			reason: "cpu 28.8% of C3 < target 40% on 4 ready replicas (1 missing counted as 100%) → 3 after 30s below",
		},

		// Not-ready replicas are left out of the average.
		{
			name: "a starting replica burning 100% does not scale up",
			spec: withMax(asUser, 5), current: 2,
			history: asCPU(0, 5, append(asReady(30), starting(100))),
			now:     5, want: 2,
			reason: "cpu 30% of C3 < target 40% on 1 ready replica (1 not ready); holding 2: only 5s of history, scale-down needs 30s",
		},
		{
			name: "1 ready at 100% while 1 starts: ceil(1×100/40)=3",
			spec: withMax(asUser, 5), current: 2,
			history: asCPU(0, 5, append(asReady(100), starting(0))),
			now:     5, want: 3,
			reason: "cpu 100% of C3 > target 40% on 1 ready replica (1 not ready) → 3",
		},
		{
			name: "no ready replica at all: keep",
			spec: asUser, current: 1,
			history: asCPU(0, 5, []ReplicaSample{starting(50)}),
			now:     5, want: 1,
			reason: "no ready replica reported cpu in the last 1s → 1",
		},

		// Min 0 with rps / concurrency.
		{
			name: "rps: idle for the whole 30s window → 0",
			spec: rps, current: 1,
			history: asJoin(asReq(0, 5, 20, 1), asReq(5.25, 35.25, 0, 0)),
			now:     35.25, want: 0,
			reason: "no requests and nothing in flight for 30s → 0",
		},
		{
			name: "rps: one request in flight 10s ago holds 1",
			spec: rps, current: 1,
			history: asJoin(asReq(0, 25, 0, 0), asReq(25.25, 25.25, 0, 1), asReq(25.5, 35, 0, 0)),
			now:     35, want: 1,
			reason: "rps 0 < target 10 per replica on 1 replica; holding 1: scale to zero needs 30s with no requests and nothing in flight",
		},
		{
			name: "rps: idle but only 20s of history → 1",
			spec: rps, current: 1,
			history: asReq(0, 20, 0, 0),
			now:     20, want: 1,
			reason: "rps 0 < target 10 per replica on 1 replica; holding 1: only 20s of history, scale-down needs 30s",
		},
		{
			name: "from zero: 3 in flight in the latest snapshot → 1 immediately",
			spec: rps, current: 0,
			history: asJoin(asReq(0, 40, 0, 0), asReq(40.25, 40.25, 0, 3)),
			now:     40.25, want: 1,
			reason: "activator: 3 in flight, 0 rps at zero → 1",
		},
		{
			name: "from zero: 25 rps → ceil(25/10)=3",
			spec: rps, current: 0,
			history: asReq(0, 0, 25, 0),
			now:     0, want: 3,
			reason: "activator: 0 in flight, 25 rps at zero → 3",
		},
		{
			name: "from zero: concurrency 50 in flight → step limit 4",
			spec: conc, current: 0,
			history: asReq(0, 0, 0, 50),
			now:     0, want: 4,
			reason: "activator: 50 in flight, 0 rps at zero → 4 (step limit 4)",
		},
		{
			name: "from zero: requests only in an older snapshot stay at 0",
			spec: rps, current: 0,
			history: asJoin(asReq(0, 0, 5, 1), asReq(0.25, 1, 0, 0)),
			now:     1, want: 0,
			reason: "idle at zero: no requests → 0",
		},
		{
			name: "from zero with min 1 (manifest change) → 1",
			spec: withMin(rps, 1), current: 0,
			history: nil,
			now:     0, want: 1,
			reason: "idle at zero: no requests → 1 (min 1)",
		},
		{
			name: "rps up: 35 rps on 1 replica → ceil(3.5)=4",
			spec: withMax(rps, 10), current: 1,
			history: asReq(0, 5, 35, 2),
			now:     5, want: 4,
			reason: "rps 35 > target 10 per replica on 1 replica → 4",
		},
		{
			name: "concurrency: 2.1 in flight on 2 replicas at target 1 is in the band",
			spec: conc, current: 2,
			history: asReq(0, 40, 0, 2.1),
			now:     40, want: 2,
			reason: "concurrency 2.1 in flight within 10% of target 1 per replica on 2 replicas → 2",
		},
		{
			name: "concurrency: min 0 but requests keep coming: never below 1",
			spec: conc, current: 2,
			history: asReq(0, 40, 3, 0),
			now:     40, want: 1,
			reason: "concurrency 0 in flight < target 1 per replica on 2 replicas → 1 after 30s below",
		},

		// Clamps.
		{
			name: "manifest lowered max to 2 while 5 run → 2 at once",
			spec: asUser, current: 5,
			history: asCPU(0, 2, asReady(40, 40, 40, 40, 40)),
			now:     2, want: 2,
			reason: "cpu 40% of C3 within 10% of target 40% on 5 ready replicas → 2 (max 2)",
		},
		{
			name: "manifest raised min to 3 → 3 at once",
			spec: withMax(withMin(asUser, 3), 5), current: 1,
			history: asCPU(0, 2, asReady(10)),
			now:     2, want: 3,
			reason: "cpu 10% of C3 < target 40% on 1 ready replica → 3 (min 3)",
		},
		{
			name: "cpu min 0 is treated as 1",
			spec: withMin(asUser, 0), current: 1,
			history: asCPU(0, 40, asReady(0)),
			now:     40, want: 1,
			reason: "cpu 0% of C3 < target 40% on 1 ready replica → 1",
		},
		{
			name: "cpu with no replica goes to 1",
			spec: asUser, current: 0,
			history: nil,
			now:     0, want: 1,
			reason: "no replica to measure cpu on → 1 (min 1)",
		},

		// Bounded steps: at most max(2×current, current+4).
		{
			name: "2 → at most 6 (current+4)",
			spec: withTarget(withMax(asUser, 100), 10), current: 2,
			history: asCPU(0, 5, asReady(100, 100)),
			now:     5, want: 6,
			reason: "cpu 100% of C3 > target 10% on 2 ready replicas → 6 (step limit 6)",
		},
		{
			name: "10 → at most 20 (2×current)",
			spec: withTarget(withMax(asUser, 100), 10), current: 10,
			history: asCPU(0, 5, asReady(100, 100, 100, 100, 100, 100, 100, 100, 100, 100)),
			now:     5, want: 20,
			reason: "cpu 100% of C3 > target 10% on 10 ready replicas → 20 (step limit 20)",
		},

		// Windows, spikes, time.
		{
			name: "a single 250ms spike over a 30% base does not scale",
			spec: withMax(asUser, 4), current: 1,
			history: asJoin(asCPU(0, 9.75, asReady(30)), asCPU(10, 10, asReady(100))),
			now:     10, want: 1,
			reason: "cpu 30% of C3 < target 40% on 1 ready replica → 1",
		},
		{
			name: "load for 0.5s after start: not enough history to scale up",
			spec: asUser, current: 1,
			history: asCPU(0, 0.5, asReady(100)),
			now:     0.5, want: 1,
			reason: "cpu 100% of C3 > target 40% on 1 ready replica; holding 1: only 500ms of history, scale-up needs 1s",
		},
		{
			name: "snapshots after now are ignored",
			spec: asUser, current: 1,
			history: asJoin(asCPU(0, 5, asReady(10)), asCPU(5.25, 10, asReady(100))),
			now:     5, want: 1,
			reason: "cpu 10% of C3 < target 40% on 1 ready replica → 1",
		},
		{
			name: "empty history keeps current",
			spec: asUser, current: 2,
			history: nil,
			now:     0, want: 2,
			reason: "no cpu metrics yet → 2",
		},
		{
			name: "stale history (collector stopped 60s ago) keeps current",
			spec: asUser, current: 2,
			history: asCPU(0, 40, asReady(1, 1)),
			now:     100, want: 2,
			reason: "no ready replica reported cpu in the last 1s; holding 2: no samples in the last 30s",
		},
		{
			name: "memory metric reads Memory, not CPU",
			spec: ScaleSpec{Metric: "memory", Target: 50, Min: 1, Max: 4, Instance: "C3"}, current: 1,
			history: asCPU(0, 5, []ReplicaSample{{Name: "a", Ready: true, CPU: 1, Memory: 90}}),
			now:     5, want: 2,
			reason: "memory 90% of C3 > target 50% on 1 ready replica → 2",
		},

		// Invalid specs.
		{
			name: "target 0 keeps current",
			spec: withTarget(asUser, 0), current: 1,
			history: asCPU(0, 5, asReady(100)),
			now:     5, want: 1,
			reason: "cpu target 0 is not positive: keeping 1",
		},
		{
			name: "unknown metric keeps current, clamped",
			spec: ScaleSpec{Metric: "gpu", Target: 40, Min: 1, Max: 2}, current: 3,
			history: asCPU(0, 5, asReady(100)),
			now:     5, want: 2,
			reason: `unknown scaling metric "gpu": keeping 2 (max 2)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(asSec(tc.now), tc.current, tc.history, tc.spec)
			if d.Desired != tc.want {
				t.Errorf("Desired = %d, want %d (reason %q)", d.Desired, tc.want, d.Reason)
			}
			if d.Current != tc.current || !d.Time.Equal(asSec(tc.now)) {
				t.Errorf("Current/Time = %d/%v, want %d/%v", d.Current, d.Time, tc.current, asSec(tc.now))
			}
			if d.Changed() != (tc.want != tc.current) {
				t.Errorf("Changed() = %v with Current %d, Desired %d", d.Changed(), d.Current, d.Desired)
			}
			asCheckReason(t, d.Reason, tc.reason)
		})
	}
}

// asCheckReason compares exactly, or, when want holds "…", checks its parts appear in order.
func asCheckReason(t *testing.T, got, want string) {
	t.Helper()
	if !strings.Contains(want, "…") {
		if got != want {
			t.Errorf("Reason = %q\n          want %q", got, want)
		}
		return
	}
	rest := got
	for _, part := range strings.Split(want, "…") {
		i := strings.Index(rest, part)
		if i < 0 {
			t.Errorf("Reason = %q, want parts %q in order (missing %q)", got, want, part)
			return
		}
		rest = rest[i+len(part):]
	}
}

// TestDecideUserScenarioReaction plays the user's scenario tick by tick:
// 1 C3 replica idle for 10s, then at 100% of its quota. Desired must reach 2
// within 1s of sustained load, and neither one nor two ticks of it may scale.
func TestDecideUserScenarioReaction(t *testing.T) {
	start := 10.0
	var history []Snapshot
	current := 1
	reacted := -1.0
	for s := 0.0; s <= 15; s += asTick.Seconds() {
		cpu := 1.0
		if s > start { // the sample at s covers (s−tick, s]
			cpu = 100
		}
		history = append(history, Snapshot{Time: asSec(s), Replicas: asReady(cpu)})
		d := Decide(asSec(s), current, history, asUser)
		if d.Changed() {
			if reacted >= 0 {
				t.Fatalf("second change at %.2fs: %s", s, d.Reason)
			}
			reacted = s - start
			current = d.Desired
			t.Logf("t=%.2fs (load for %.2fs): %s", s, reacted, d.Reason)
		}
	}
	if current != 2 {
		t.Fatalf("ended with %d replicas, want 2", current)
	}
	if reacted > 1 {
		t.Errorf("reacted after %.2fs of sustained load, want ≤ 1s", reacted)
	}
	if reacted <= 2*asTick.Seconds() {
		t.Errorf("reacted after %.2fs, i.e. on ≤ 2 ticks of load; want a sustained window", reacted)
	}
}

func TestDecideHistoryOrderAndExtraLength(t *testing.T) {
	// Ten minutes of history, far more than the windows need, must give the
	// same answer as just the last 31s.
	long := asJoin(asCPU(0, 600, asReady(100, 100)), asCPU(600.25, 640, asReady(3, 3)))
	short := asCPU(609.75, 640, asReady(3, 3))
	short = asJoin(asCPU(609.75, 610, asReady(100, 100)), short[2:])
	a := Decide(asSec(640), 2, long, asUser)
	b := Decide(asSec(640), 2, short, asUser)
	if a != b {
		t.Errorf("long history: %+v\nshort history: %+v", a, b)
	}
	if a.Desired != 1 {
		t.Errorf("Desired = %d, want 1 after 39.75s low (%s)", a.Desired, a.Reason)
	}
}

func TestDecideDecisionChanged(t *testing.T) {
	for _, tc := range []struct {
		d    Decision
		want bool
	}{
		{Decision{Current: 1, Desired: 2}, true},
		{Decision{Current: 2, Desired: 1}, true},
		{Decision{Current: 2, Desired: 2}, false},
		{Decision{Current: 0, Desired: 0}, false},
	} {
		if got := tc.d.Changed(); got != tc.want {
			t.Errorf("%+v.Changed() = %v, want %v", tc.d, got, tc.want)
		}
	}
}

// BenchmarkDecide measures one call on 1000 snapshots of 10 replicas
// (250 s of history at 250 ms ticks, much more than the 30s window).
func BenchmarkDecide(b *testing.B) {
	history := make([]Snapshot, 1000)
	for i := range history {
		rs := make([]ReplicaSample, 10)
		for j := range rs {
			rs[j] = ReplicaSample{Name: fmt.Sprintf("r%d", j), Ready: j != 9, Missing: (i+j)%37 == 0, CPU: float64((i*7 + j*13) % 100)}
		}
		history[i] = Snapshot{Time: asT0.Add(time.Duration(i) * asTick), Replicas: rs, RPS: float64(i % 50)}
	}
	now := history[len(history)-1].Time
	spec := ScaleSpec{Metric: "cpu", Target: 40, Min: 1, Max: 20, Instance: "C3"}
	b.ReportAllocs()
	for b.Loop() {
		_ = Decide(now, 10, history, spec)
	}
}

func TestHistoryNeeded(t *testing.T) {
	for _, c := range []struct {
		spec ScaleSpec
		want time.Duration
	}{
		{ScaleSpec{Metric: "cpu", Target: 40}, 30 * time.Second},
		{ScaleSpec{Metric: "cpu", Target: 40, ScaleDownWindow: 5 * time.Second}, 5 * time.Second},
		{ScaleSpec{Metric: "rps", Target: 10, ScaleUpWindow: 8 * time.Second, ScaleDownWindow: 3 * time.Second}, 8 * time.Second},
	} {
		if got := c.spec.HistoryNeeded(); got != c.want {
			t.Errorf("%+v: HistoryNeeded = %v, want %v", c.spec, got, c.want)
		}
	}
}
