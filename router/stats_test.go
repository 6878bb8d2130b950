package router

import (
	"testing"
	"time"
)

func TestBucketIndexUsesLessOrEqualBounds(t *testing.T) {
	tests := []struct {
		secs float64
		want int
	}{
		{0, 0},
		{0.001, 0},
		{0.0011, 1},
		{0.0025, 1},
		{1, 9},
		{120, len(LatencyBuckets) - 1},
		{121, len(LatencyBuckets)},
	}
	for _, tt := range tests {
		if got := bucketIndex(tt.secs); got != tt.want {
			t.Errorf("bucketIndex(%v) = %d, want %d", tt.secs, got, tt.want)
		}
	}
}

func TestSnapshotIsCumulative(t *testing.T) {
	var s appStats
	s.observe(200, 500*time.Microsecond)
	s.observe(200, 20*time.Millisecond)
	s.observe(503, 3*time.Minute)
	s.observe(999, time.Millisecond)
	st := s.snapshot()
	if st.Requests != 4 || st.Status[200] != 2 || st.Status[503] != 1 || st.Status[0] != 1 {
		t.Fatalf("requests %d status %v", st.Requests, st.Status)
	}
	if st.LatencyCount != 4 {
		t.Fatalf("LatencyCount %d, want 4", st.LatencyCount)
	}
	want := map[float64]uint64{0.001: 2, 0.01: 2, 0.025: 3, 120: 3}
	for _, b := range st.Latency {
		if n, ok := want[b.LE]; ok && b.Count != n {
			t.Errorf("bucket le=%v: %d, want %d", b.LE, b.Count, n)
		}
	}
	wantSum := (500*time.Microsecond + 20*time.Millisecond + 3*time.Minute + time.Millisecond).Seconds()
	if st.LatencySum != wantSum {
		t.Errorf("LatencySum %v, want %v", st.LatencySum, wantSum)
	}
}
