package admin

import "github.com/fnrun/fnrun/scheduler"

// History is an app's time series as /api/apps/{id}/history serves it: every series is aligned
// with T; a null is a missing point (a replica not running then, or no request answered).
type History struct {
	App string `json:"app"`
	// Metric is what drives autoscaling: cpu, memory, rps or concurrency.
	Metric string `json:"metric"`
	// T holds the sample times in Unix seconds.
	T []float64 `json:"t"`
	// Replicas are the hostnames of the CPU and memory series, in order of first appearance.
	Replicas []string `json:"replicas"`
	// CPU is per replica (as Replicas) CPU use in percent of the instance quota.
	CPU [][]*float64 `json:"cpu"`
	// MemoryBytes is per replica (as Replicas) memory use in bytes.
	MemoryBytes [][]*float64 `json:"memory_bytes"`
	// Target is the autoscaling target at each sample.
	Target []float64 `json:"target"`
	// Desired and Ready are replica counts.
	Desired []int `json:"desired"`
	Ready   []int `json:"ready"`
	// RPS is requests per second; InFlight requests in flight.
	RPS      []float64 `json:"rps"`
	InFlight []float64 `json:"in_flight"`
	// P50 and P99 are latency quantiles in seconds.
	P50 []*float64 `json:"p50"`
	P99 []*float64 `json:"p99"`
}

// buildHistory is pure: the series of samples (oldest first) of app st.
func buildHistory(st scheduler.AppStatus, samples []Sample) History {
	n := len(samples)
	h := History{
		App: st.ID, Metric: st.Manifest.Autoscale.Metric,
		T: make([]float64, n), Replicas: []string{}, CPU: [][]*float64{}, MemoryBytes: [][]*float64{},
		Target: make([]float64, n), Desired: make([]int, n), Ready: make([]int, n),
		RPS: make([]float64, n), InFlight: make([]float64, n), P50: make([]*float64, n), P99: make([]*float64, n),
	}
	index := map[string]int{}
	for i, sm := range samples {
		h.T[i] = float64(sm.Time.UnixMilli()) / 1000
		h.Target[i], h.Desired[i], h.Ready[i] = sm.Target, sm.Desired, sm.Ready
		h.RPS[i], h.InFlight[i] = sm.RPS, sm.InFlight
		if sm.HasLatency {
			h.P50[i], h.P99[i] = ptr(sm.P50), ptr(sm.P99)
		}
		for _, host := range sortedKeys(sm.CPU) {
			j, ok := index[host]
			if !ok {
				j = len(h.Replicas)
				index[host] = j
				h.Replicas = append(h.Replicas, host)
				h.CPU = append(h.CPU, make([]*float64, n))
				h.MemoryBytes = append(h.MemoryBytes, make([]*float64, n))
			}
			h.CPU[j][i] = ptr(sm.CPU[host])
			h.MemoryBytes[j][i] = ptr(float64(sm.MemoryBytes[host]))
		}
	}
	return h
}

func ptr(v float64) *float64 { return &v }
