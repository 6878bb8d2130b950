package scheduler

import (
	"errors"
	"math"
	"testing"
	"time"
)

// TestSampleTakesOneUsageReadingPerReplica checks that a tick reads each
// replica's light Usage exactly once and turns it into the sample and status.
func TestSampleTakesOneUsageReadingPerReplica(t *testing.T) {
	a, sbx, _, _ := newTestRun(t, "instance: C2\nautoscale: {min: 2, max: 2}\n") // 0.5 core, 1 GiB
	now := time.Unix(1000, 0)
	a.tick(now)
	waitFor(t, a, "2 ready replicas", func() bool { return readyCount(a) == 2 })
	fakes := sbx.all()
	for _, f := range fakes {
		f.mu.Lock()
		f.usage, f.memory, f.throttled, f.readings = 1_000_000, 256<<20, 1_500_000, 0
		f.mu.Unlock()
	}
	a.tick(now.Add(250 * time.Millisecond))
	fakes[0].addUsage(62_500) // 62.5 ms of CPU in 250 ms on 0.5 core: 50 %
	a.tick(now.Add(500 * time.Millisecond))

	for _, f := range fakes {
		f.mu.Lock()
		if f.readings != 2 {
			t.Errorf("%s: %d Usage readings in 2 ticks, want 2", f.hostname, f.readings)
		}
		f.mu.Unlock()
	}
	a.mu.Lock()
	last := a.history[len(a.history)-1]
	a.mu.Unlock()
	cpu := map[string]float64{}
	for _, rs := range last.Replicas {
		if rs.Missing {
			t.Errorf("%s: sample missing", rs.Name)
		}
		if math.Abs(rs.Memory-25) > 1e-9 {
			t.Errorf("%s: memory %.2f %%, want 25 (256 MiB of 1 GiB)", rs.Name, rs.Memory)
		}
		cpu[rs.Name] = rs.CPU
	}
	if got := cpu[fakes[0].hostname]; math.Abs(got-50) > 1e-9 {
		t.Errorf("busy replica cpu %.2f %%, want 50", got)
	}
	if got := cpu[fakes[1].hostname]; got != 0 {
		t.Errorf("idle replica cpu %.2f %%, want 0", got)
	}
	for _, r := range a.status().Replicas {
		if r.MemoryBytes != 256<<20 || r.ThrottledSeconds != 1.5 {
			t.Errorf("%s status: memory %d bytes, throttled %.2f s; want %d, 1.5", r.Hostname, r.MemoryBytes, r.ThrottledSeconds, 256<<20)
		}
	}
}

func TestSampleMarksFailedUsageMissing(t *testing.T) {
	a, sbx, _, _ := newTestRun(t, "autoscale: {min: 1, max: 1}\n")
	now := time.Unix(1000, 0)
	a.tick(now)
	waitFor(t, a, "1 ready replica", func() bool { return readyCount(a) == 1 })
	f := sbx.all()[0]
	f.mu.Lock()
	f.usageErr = errors.New("usage counters closed")
	f.mu.Unlock()
	a.mu.Lock()
	snap := a.sample(now.Add(250 * time.Millisecond))
	a.mu.Unlock()
	if len(snap.Replicas) != 1 || !snap.Replicas[0].Missing {
		t.Errorf("sample = %+v, want the replica marked missing", snap.Replicas)
	}
}
