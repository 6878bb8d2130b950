package admin

import (
	"sync"
	"time"

	"github.com/fnrun/fnrun/router"
	"github.com/fnrun/fnrun/runtime"
	"github.com/fnrun/fnrun/scheduler"
)

// fakeApps is a scheduler whose list the test sets.
type fakeApps struct {
	mu   sync.Mutex
	list []scheduler.AppStatus
}

func (f *fakeApps) List() []scheduler.AppStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]scheduler.AppStatus(nil), f.list...)
}

func (f *fakeApps) set(list ...scheduler.AppStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = list
}

// fakeStats is a router whose counters the test sets.
type fakeStats struct {
	mu sync.Mutex
	m  map[string]router.AppStats
}

func (f *fakeStats) Stats(id string) (router.AppStats, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.m[id]
	return s, ok
}

func (f *fakeStats) set(id string, s router.AppStats) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]router.AppStats{}
	}
	f.m[id] = s
}

// fakeClock is a clock the test advances.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// app is an app status with cpu autoscaling at target and replicas with the given CPU percents.
func app(id string, target, desired int, cpu map[string]float64) scheduler.AppStatus {
	st := scheduler.AppStatus{
		App: scheduler.App{ID: id, Name: id, Revision: 1, Manifest: runtime.Manifest{Instance: "C3",
			Autoscale: runtime.Autoscale{Min: 1, Max: 2, Metric: "cpu", Target: target}}},
		Phase: scheduler.PhaseServing, Desired: desired,
	}
	for _, host := range sortedKeys(cpu) {
		st.Replicas = append(st.Replicas, scheduler.ReplicaStatus{Hostname: host, State: scheduler.StateReady,
			CPUPercent: cpu[host], MemoryBytes: 50 << 20, ThrottledSeconds: 1.5})
		st.Ready++
	}
	return st
}

// stats is a router snapshot with requests answered with 200 whose latencies fell in the
// buckets given as (bucket index → count, non-cumulative).
func stats(perBucket map[int]uint64, sum float64) router.AppStats {
	s := router.AppStats{Status: map[int]uint64{}, Latency: make([]router.HistogramBucket, len(router.LatencyBuckets)), LatencySum: sum}
	var cum uint64
	for i, le := range router.LatencyBuckets {
		cum += perBucket[i]
		s.Latency[i] = router.HistogramBucket{LE: le, Count: cum}
	}
	s.LatencyCount = cum + perBucket[len(router.LatencyBuckets)]
	s.Requests = s.LatencyCount
	if s.Requests > 0 {
		s.Status[200] = s.Requests
	}
	return s
}
