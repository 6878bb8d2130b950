package admin

import (
	"math"

	"github.com/fnrun/fnrun/router"
)

// latencyDelta is the histogram of the requests answered between two cumulative snapshots:
// per-bucket cumulative counts (Count ≤ LE) and the total including the +Inf bucket.
type latencyDelta struct {
	buckets []router.HistogramBucket
	total   uint64
}

// deltaHistogram subtracts prev from cur. A counter that went backwards (the router forgot and
// re-added the app) makes cur the whole delta.
func deltaHistogram(prev, cur router.AppStats) latencyDelta {
	if cur.LatencyCount < prev.LatencyCount || len(prev.Latency) != len(cur.Latency) {
		return latencyDelta{buckets: cur.Latency, total: cur.LatencyCount}
	}
	d := latencyDelta{buckets: make([]router.HistogramBucket, len(cur.Latency)), total: cur.LatencyCount - prev.LatencyCount}
	for i, b := range cur.Latency {
		n := uint64(0)
		if b.Count >= prev.Latency[i].Count {
			n = b.Count - prev.Latency[i].Count
		}
		d.buckets[i] = router.HistogramBucket{LE: b.LE, Count: n}
	}
	return d
}

// quantile estimates the q-quantile (0 < q < 1) in seconds like Prometheus' histogram_quantile:
// linear interpolation inside the bucket that holds the rank. It returns false without
// observations. A rank in the +Inf bucket yields the highest finite bound.
func (d latencyDelta) quantile(q float64) (float64, bool) {
	if d.total == 0 || math.IsNaN(q) {
		return 0, false
	}
	rank := q * float64(d.total)
	lower, below := 0.0, uint64(0)
	for _, b := range d.buckets {
		if float64(b.Count) >= rank {
			inBucket := b.Count - below
			if inBucket == 0 {
				return b.LE, true
			}
			return lower + (b.LE-lower)*(rank-float64(below))/float64(inBucket), true
		}
		lower, below = b.LE, b.Count
	}
	return lower, true
}
