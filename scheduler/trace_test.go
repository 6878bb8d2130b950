package scheduler

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Trace-driven tests: load traces from testdata/traces are played at 250 ms
// ticks through Decide and a simple replica model.
//
// The model: the app has a total CPU demand in cores (from the trace); it is
// spread evenly over the ready replicas, each capped at 100% of its quota
// (demand above that is lost, as with a CFS quota). A replica that Decide
// adds becomes ready trStartup later; until then it reports Ready=false.
// Requests: 100 requests/s per core of demand, 50 ms each, so InFlight =
// RPS × 0.05 (Little's law); the router counts them even at zero replicas.
// The sample taken at tick t reports the demand during (t−tick, t], i.e.
// the trace's value at t−tick.

const (
	trStartup    = 600 * time.Millisecond // replica start to ready
	trRPSPerCore = 100.0                  // requests/s per core of demand
	trLatency    = 0.05                   // seconds per request
)

// trPoint is one point of a trace: demand in cores at a second; demand is
// linear between points and a repeated second is a step.
type trPoint struct{ sec, cores float64 }

// trRead parses testdata/traces/name: "seconds,cores" lines, # comments.
func trRead(t *testing.T, name string) []trPoint {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "traces", name))
	if err != nil {
		t.Fatalf("open trace: %v", err)
	}
	defer f.Close()
	var pts []trPoint
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		secS, coresS, ok := strings.Cut(text, ",")
		sec, err1 := strconv.ParseFloat(strings.TrimSpace(secS), 64)
		cores, err2 := strconv.ParseFloat(strings.TrimSpace(coresS), 64)
		if !ok || err1 != nil || err2 != nil || cores < 0 || (len(pts) > 0 && sec < pts[len(pts)-1].sec) {
			t.Fatalf("%s:%d: want ascending \"seconds,cores\", got %q", name, line, text)
		}
		pts = append(pts, trPoint{sec, cores})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read trace %s: %v", name, err)
	}
	if len(pts) == 0 {
		t.Fatalf("trace %s is empty", name)
	}
	return pts
}

// trDemand is the trace's demand in cores at second sec.
func trDemand(pts []trPoint, sec float64) float64 {
	i := -1
	for j, p := range pts {
		if p.sec <= sec {
			i = j
		}
	}
	switch {
	case i < 0:
		return pts[0].cores
	case i == len(pts)-1:
		return pts[i].cores
	}
	a, b := pts[i], pts[i+1]
	return a.cores + (b.cores-a.cores)*(sec-a.sec)/(b.sec-a.sec)
}

// trChange is one replica-count change during a played trace.
type trChange struct {
	sec      float64
	from, to int
	reason   string
}

// trPlay plays pts through Decide and the replica model, starting with initial replicas.
func trPlay(pts []trPoint, spec ScaleSpec, cores float64, initial int) (changes []trChange, peak int) {
	type replica struct {
		name    string
		readyAt time.Time
	}
	var replicas []replica
	for i := 0; i < initial; i++ {
		replicas = append(replicas, replica{name: fmt.Sprintf("r%d", i)})
	}
	started := initial
	peak = initial
	var history []Snapshot
	end := pts[len(pts)-1].sec
	for k := 0; float64(k)*asTick.Seconds() <= end; k++ {
		now := asT0.Add(time.Duration(k) * asTick)
		sec := now.Sub(asT0).Seconds()
		demand := trDemand(pts, math.Max(0, sec-asTick.Seconds()))

		ready := 0
		for _, r := range replicas {
			if !r.readyAt.After(now) {
				ready++
			}
		}
		util := 0.0
		if ready > 0 {
			util = math.Min(100, demand/float64(ready)/cores*100)
		}
		snap := Snapshot{Time: now, RPS: demand * trRPSPerCore, InFlight: demand * trRPSPerCore * trLatency}
		for _, r := range replicas {
			s := ReplicaSample{Name: r.name, Ready: !r.readyAt.After(now)}
			if s.Ready {
				s.CPU = util
			}
			snap.Replicas = append(snap.Replicas, s)
		}
		history = append(history, snap)
		if len(history) > 200 { // 50s, more than the windows need
			history = history[1:]
		}

		d := Decide(now, len(replicas), history, spec)
		if !d.Changed() {
			continue
		}
		changes = append(changes, trChange{sec: sec, from: d.Current, to: d.Desired, reason: d.Reason})
		for len(replicas) < d.Desired {
			replicas = append(replicas, replica{name: fmt.Sprintf("r%d", started), readyAt: now.Add(trStartup)})
			started++
		}
		if len(replicas) > d.Desired {
			replicas = replicas[:d.Desired] // newest (and so starting) replicas go first
		}
		peak = max(peak, len(replicas))
	}
	return changes, peak
}

// trBand reports the first and last tick (seconds) at which the demand is more
// than `current` replicas take at the target: where load starts, and ends.
func trBand(pts []trPoint, spec ScaleSpec, cores float64, current int) (start, end float64) {
	start, end = -1, -1
	for sec := 0.0; sec <= pts[len(pts)-1].sec; sec += asTick.Seconds() {
		d := trDemand(pts, sec)
		var over bool
		switch spec.Metric {
		case "rps":
			over = d*trRPSPerCore > spec.Target*float64(current)
		default:
			over = d*100/cores > spec.Target*float64(current)
		}
		if over {
			if start < 0 {
				start = sec
			}
			end = sec
		}
	}
	return start, end
}

func TestTrace(t *testing.T) {
	const c3 = 1.0 // cores of a C3 replica
	user4 := asUser
	user4.Max = 4
	toZero := ScaleSpec{Metric: "rps", Target: 50, Min: 0, Max: 3}

	tests := []struct {
		file       string
		spec       ScaleSpec
		initial    int
		maxChanges int // no flapping: at most this many count changes in the whole trace
		peakLo     int // the count must reach at least this…
		peakHi     int // …and never exceed this
		wantFinal  int
		spiky      bool // load only in single ticks: no reaction expected at all
	}{
		// 1.5 cores on max 2: up once to 2, down once to 1.
		{file: "step.csv", spec: asUser, initial: 1, maxChanges: 2, peakLo: 2, peakHi: 2, wantFinal: 1},
		// 3 cores want ceil(3/0.4)=8, clamped to 4: at most 3 steps up while ramping, then one down.
		{file: "ramp.csv", spec: user4, initial: 1, maxChanges: 4, peakLo: 4, peakHi: 4, wantFinal: 1},
		// 250 ms spikes over a 30% base never scale.
		{file: "spike.csv", spec: user4, initial: 1, maxChanges: 0, peakLo: 1, peakHi: 1, wantFinal: 1, spiky: true},
		// Teeth up to 1.2 cores want ceil(1.2/0.4)=3; replicas stay through the short dips
		// (8s apart, under the 30s window) and leave once after the last tooth:
		// 1 → 2 → 3 on the first tooth, 3 → 1 at the end.
		{file: "sawtooth.csv", spec: user4, initial: 1, maxChanges: 3, peakLo: 3, peakHi: 3, wantFinal: 1},
		// rps, min 0: 80 rps wake the app from zero at once (ceil(80/50)=2) and it
		// goes back to zero 30s after the last request.
		{file: "zero.csv", spec: toZero, initial: 0, maxChanges: 2, peakLo: 2, peakHi: 2, wantFinal: 0},
	}
	for _, tc := range tests {
		t.Run(strings.TrimSuffix(tc.file, ".csv"), func(t *testing.T) {
			pts := trRead(t, tc.file)
			changes, peak := trPlay(pts, tc.spec, c3, tc.initial)
			for _, c := range changes {
				t.Logf("t=%6.2fs %d → %d: %s", c.sec, c.from, c.to, c.reason)
			}
			up := tc.spec.ScaleUpWindow
			if up == 0 {
				up = time.Second
			}
			down := tc.spec.ScaleDownWindow
			if down == 0 {
				down = 30 * time.Second
			}

			if len(changes) > tc.maxChanges {
				t.Errorf("%d replica-count changes, want at most %d (flapping)", len(changes), tc.maxChanges)
			}
			if peak < tc.peakLo || peak > tc.peakHi {
				t.Errorf("peak %d replicas, want %d..%d", peak, tc.peakLo, tc.peakHi)
			}
			final := tc.initial
			if len(changes) > 0 {
				final = changes[len(changes)-1].to
			}
			if final != tc.wantFinal {
				t.Errorf("final count %d, want %d", final, tc.wantFinal)
			}

			start, end := trBand(pts, tc.spec, c3, max(tc.initial, 1))
			if start < 0 {
				t.Fatalf("the trace never loads more than %d replicas take; it tests nothing", max(tc.initial, 1))
			}
			if tc.spiky {
				if len(changes) > 0 {
					t.Errorf("single-tick spikes changed the count: %+v", changes[0])
				}
				return
			}
			// Reaction: time from load start to the first Desired increase.
			var firstUp *trChange
			for i := range changes {
				if changes[i].to > changes[i].from {
					firstUp = &changes[i]
					break
				}
			}
			limit := (up + asTick).Seconds()
			switch {
			case firstUp == nil:
				t.Errorf("no scale-up although load started at %.2fs", start)
			case firstUp.sec < start:
				t.Errorf("scaled up at %.2fs, before the load started at %.2fs", firstUp.sec, start)
			case firstUp.sec-start > limit:
				t.Errorf("reacted %.2fs after load start (%.2fs), want ≤ %.2fs", firstUp.sec-start, start, limit)
			default:
				t.Logf("reaction %.2fs (load start %.2fs, limit %.2fs)", firstUp.sec-start, start, limit)
			}
			// Scale-down only after the load stayed low a whole down window,
			// and then without dawdling (within two ticks).
			endLow := (time.Duration(end*float64(time.Second)) + down).Seconds()
			for _, c := range changes {
				if c.to < c.from && c.sec < endLow {
					t.Errorf("scaled down %d → %d at %.2fs, before load end %.2fs + %v", c.from, c.to, c.sec, end, down)
				}
			}
			if last := changes[len(changes)-1]; firstUp != nil && last.to < last.from && last.sec > endLow+2*asTick.Seconds() {
				t.Errorf("back to %d only at %.2fs, want by %.2fs", last.to, last.sec, endLow+2*asTick.Seconds())
			}
		})
	}
}

// TestTraceSpikeWouldScaleWithPlainMean guards the trace itself: a plain mean
// over the up window would scale on the spike trace, so TestTrace/spike
// really exercises the spike rule.
func TestTraceSpikeWouldScaleWithPlainMean(t *testing.T) {
	pts := trRead(t, "spike.csv")
	base, spike := trDemand(pts, 9.75)*100, math.Min(100, trDemand(pts, 10)*100)
	mean := (3*base + spike) / 4
	if mean <= asUser.Target*1.1 {
		t.Fatalf("plain mean %.1f%% of base %.0f%% and spike %.0f%% stays in the band; the trace would not test the spike rule", mean, base, spike)
	}
}
