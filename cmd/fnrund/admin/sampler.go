package admin

import (
	"context"
	"sync"
	"time"

	"github.com/fnrun/fnrun/router"
	"github.com/fnrun/fnrun/scheduler"
)

// Apps lists the live status of every app; *scheduler.Scheduler satisfies it.
type Apps interface {
	List() []scheduler.AppStatus
}

// Stats reads an app's cumulative request counters; *router.Router satisfies it.
type Stats interface {
	Stats(appID string) (router.AppStats, bool)
}

// DefaultHistory is how many samples the sampler keeps per app: 10 minutes at one a second.
const DefaultHistory = 600

// Sampler keeps a bounded history of every app's replicas, traffic and latency. Call Sample
// once per period (Run does it on a ticker); all methods are safe for concurrent use.
type Sampler struct {
	apps  Apps
	stats Stats
	now   func() time.Time
	size  int

	mu      sync.Mutex
	perApp  map[string]*appHistory
	latest  []scheduler.AppStatus
	scaling map[string]*scalingCount
}

// appHistory is one app's ring and the router snapshot of the previous sample.
type appHistory struct {
	ring     *ring
	prev     router.AppStats
	prevTime time.Time
	hasPrev  bool
}

// NewSampler returns a sampler of apps and stats keeping size samples per app (DefaultHistory
// when size ≤ 0); now is its clock (time.Now when nil).
func NewSampler(apps Apps, stats Stats, now func() time.Time, size int) *Sampler {
	if now == nil {
		now = time.Now
	}
	if size <= 0 {
		size = DefaultHistory
	}
	return &Sampler{apps: apps, stats: stats, now: now, size: size,
		perApp: map[string]*appHistory{}, scaling: map[string]*scalingCount{}}
}

// Run samples once now and then on every tick until ctx ends.
func (s *Sampler) Run(ctx context.Context, tick <-chan time.Time) {
	s.Sample()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			s.Sample()
		}
	}
}

// Sample reads every app's status and router counters and appends one sample per app; apps
// that are gone lose their history.
func (s *Sampler) Sample() {
	list := s.apps.List()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latest = list
	seen := make(map[string]bool, len(list))
	for _, st := range list {
		seen[st.ID] = true
		h := s.perApp[st.ID]
		if h == nil {
			h = &appHistory{ring: newRing(s.size)}
			s.perApp[st.ID] = h
		}
		var rs router.AppStats
		hasStats := false
		if s.stats != nil {
			rs, hasStats = s.stats.Stats(st.ID)
		}
		h.ring.add(makeSample(now, st, h, rs, hasStats))
		if hasStats {
			h.prev, h.prevTime, h.hasPrev = rs, now, true
		} else {
			h.hasPrev = false
		}
		s.countScalingLocked(st)
	}
	for id := range s.perApp {
		if !seen[id] {
			delete(s.perApp, id)
			delete(s.scaling, id)
		}
	}
}

// makeSample is pure: the sample of st at now, with rates and latency from the router snapshot
// rs relative to the previous one in h.
func makeSample(now time.Time, st scheduler.AppStatus, h *appHistory, rs router.AppStats, hasStats bool) Sample {
	sm := Sample{
		Time:        now,
		CPU:         make(map[string]float64, len(st.Replicas)),
		MemoryBytes: make(map[string]uint64, len(st.Replicas)),
		Desired:     st.Desired,
		Ready:       st.Ready,
		RPS:         st.RPS,
		InFlight:    st.InFlight,
		Target:      float64(st.Manifest.Autoscale.Target),
	}
	for _, r := range st.Replicas {
		sm.CPU[r.Hostname] = r.CPUPercent
		sm.MemoryBytes[r.Hostname] = r.MemoryBytes
	}
	if !hasStats || !h.hasPrev {
		return sm
	}
	sm.InFlight = float64(rs.InFlight)
	if dt := now.Sub(h.prevTime).Seconds(); dt > 0 && rs.Requests >= h.prev.Requests {
		sm.RPS = float64(rs.Requests-h.prev.Requests) / dt
	}
	d := deltaHistogram(h.prev, rs)
	sm.P50, sm.HasLatency = d.quantile(0.5)
	sm.P99, _ = d.quantile(0.99)
	return sm
}

// Latest returns the app statuses of the newest sample, ordered by id.
func (s *Sampler) Latest() []scheduler.AppStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]scheduler.AppStatus(nil), s.latest...)
}

// Samples returns app id's history, oldest first, and false when the sampler does not know it.
func (s *Sampler) Samples(id string) ([]Sample, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.perApp[id]
	if h == nil {
		return nil, false
	}
	return h.ring.samples(), true
}
