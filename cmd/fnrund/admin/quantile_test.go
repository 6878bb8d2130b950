package admin

import (
	"math"
	"testing"

	"github.com/fnrun/fnrun/router"
)

func TestQuantile(t *testing.T) {
	b := func(counts ...uint64) []router.HistogramBucket { // cumulative counts for LE 1, 2, 4
		les := []float64{1, 2, 4}
		out := make([]router.HistogramBucket, len(counts))
		for i, c := range counts {
			out[i] = router.HistogramBucket{LE: les[i], Count: c}
		}
		return out
	}
	tests := []struct {
		name   string
		d      latencyDelta
		q      float64
		want   float64
		wantOK bool
	}{
		{"no observations", latencyDelta{buckets: b(0, 0, 0)}, 0.5, 0, false},
		{"all in first bucket interpolates from 0", latencyDelta{buckets: b(10, 10, 10), total: 10}, 0.5, 0.5, true},
		{"middle bucket", latencyDelta{buckets: b(0, 10, 10), total: 10}, 0.5, 1.5, true},
		{"rank at bucket top", latencyDelta{buckets: b(5, 10, 10), total: 10}, 0.5, 1, true},
		{"p99 in last finite bucket", latencyDelta{buckets: b(0, 0, 100), total: 100}, 0.99, 2 + 2*0.99, true},
		{"+Inf bucket yields highest bound", latencyDelta{buckets: b(0, 0, 0), total: 3}, 0.5, 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.d.quantile(tt.q)
			if ok != tt.wantOK || math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("quantile(%v) = %v, %v; want %v, %v", tt.q, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestDeltaHistogram(t *testing.T) {
	prev := stats(map[int]uint64{0: 2, 5: 1}, 1)
	cur := stats(map[int]uint64{0: 5, 5: 1, 16: 2}, 2)
	d := deltaHistogram(prev, cur)
	if d.total != 5 {
		t.Errorf("total = %d, want 5 (3 new in the first bucket, 2 in +Inf)", d.total)
	}
	if d.buckets[0].Count != 3 || d.buckets[len(d.buckets)-1].Count != 3 {
		t.Errorf("buckets = %v, want cumulative 3 from the first bucket on", d.buckets)
	}
}
