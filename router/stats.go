package router

import (
	"sync/atomic"
	"time"
)

// AppStats is a snapshot of one app's counters.
type AppStats struct {
	// Requests is the number of requests answered since SetApp (cumulative; rps = Δ/Δt).
	Requests uint64
	// InFlight is the number of requests being handled now, queued ones and open WebSockets included.
	InFlight int64
	// Queued is the number of requests waiting in the activator for a ready replica now.
	Queued int64
	// Status counts answered requests per HTTP status code (cumulative); key 0 holds out-of-range codes.
	Status map[int]uint64
	// Latency is the cumulative latency histogram in seconds, Prometheus-style: Count is the number of
	// requests that took ≤ LE. The +Inf bucket is implied by LatencyCount.
	Latency []HistogramBucket
	// LatencySum is the total latency of all answered requests, in seconds.
	LatencySum float64
	// LatencyCount is the number of latency observations.
	LatencyCount uint64
	// Backends is the number of in-flight requests per backend ID (ready or still finishing).
	Backends map[string]int64
}

// HistogramBucket is one cumulative histogram bucket.
type HistogramBucket struct {
	// LE is the bucket's upper bound, in seconds.
	LE float64
	// Count is the number of observations ≤ LE.
	Count uint64
}

// LatencyBuckets are the upper bounds (seconds) of the latency histogram.
var LatencyBuckets = [...]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

// appStats holds the hot-path counters of one app; all updates are single atomic operations.
type appStats struct {
	requests atomic.Uint64
	inflight atomic.Int64
	queued   atomic.Int64
	sumNanos atomic.Uint64
	status   [600]atomic.Uint64
	buckets  [len(LatencyBuckets) + 1]atomic.Uint64 // last one is +Inf
}

// observe records one answered request.
func (s *appStats) observe(status int, d time.Duration) {
	s.requests.Add(1)
	if status < 100 || status >= len(s.status) {
		status = 0
	}
	s.status[status].Add(1)
	if d < 0 {
		d = 0
	}
	s.buckets[bucketIndex(d.Seconds())].Add(1)
	s.sumNanos.Add(uint64(d))
}

func bucketIndex(secs float64) int {
	i := 0
	for i < len(LatencyBuckets) && secs > LatencyBuckets[i] {
		i++
	}
	return i
}

// snapshot copies the counters (backends are filled in by the caller).
func (s *appStats) snapshot() AppStats {
	st := AppStats{
		Requests: s.requests.Load(),
		InFlight: s.inflight.Load(),
		Queued:   s.queued.Load(),
		Status:   map[int]uint64{},
		Latency:  make([]HistogramBucket, len(LatencyBuckets)),
	}
	for code := range s.status {
		if n := s.status[code].Load(); n > 0 {
			st.Status[code] = n
		}
	}
	var cum uint64
	for i, le := range LatencyBuckets {
		cum += s.buckets[i].Load()
		st.Latency[i] = HistogramBucket{LE: le, Count: cum}
	}
	st.LatencyCount = cum + s.buckets[len(LatencyBuckets)].Load()
	st.LatencySum = time.Duration(s.sumNanos.Load()).Seconds()
	return st
}
