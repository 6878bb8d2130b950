package admin

import (
	"maps"
	"slices"
	"time"

	"github.com/fnrun/fnrun/scheduler"
)

// AppSummary is one app as /api/apps serves it.
type AppSummary struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Revision int    `json:"revision"`
	Phase    string `json:"phase"`
	// Instance is the instance type of every replica, e.g. "C3".
	Instance string `json:"instance"`
	// Metric, Target, Min and Max are the autoscale settings (Target: percent for cpu/memory,
	// req/s for rps, in-flight requests for concurrency).
	Metric string `json:"metric"`
	Target int    `json:"target"`
	Min    int    `json:"min"`
	Max    int    `json:"max"`
	// Desired and Ready are replica counts.
	Desired int `json:"desired"`
	Ready   int `json:"ready"`
	// RPS is requests per second over the scheduler's last tick; InFlight the requests in flight.
	RPS      float64          `json:"rps"`
	InFlight float64          `json:"in_flight"`
	Replicas []ReplicaSummary `json:"replicas"`
	// LastScale is the newest decision that changed the replica count, if any.
	LastScale *DecisionSummary `json:"last_scale,omitempty"`
	// Autoscaler is the autoscaler's latest reasoning when it kept the count, if any.
	Autoscaler *DecisionSummary `json:"autoscaler,omitempty"`
}

// ReplicaSummary is one replica in an AppSummary.
type ReplicaSummary struct {
	Hostname string `json:"hostname"`
	State    string `json:"state"`
	// CPUPercent is CPU use in percent of the instance quota.
	CPUPercent float64 `json:"cpu_percent"`
	// MemoryBytes is memory use in bytes; MemoryPercent of the limit.
	MemoryBytes   uint64  `json:"memory_bytes"`
	MemoryPercent float64 `json:"memory_percent"`
	// ThrottledSeconds is the cumulative time throttled by the quota, in seconds.
	ThrottledSeconds float64   `json:"throttled_seconds"`
	StartedAt        time.Time `json:"started_at"`
}

// DecisionSummary is one scaling decision.
type DecisionSummary struct {
	Time    time.Time `json:"time"`
	Current int       `json:"current"`
	Desired int       `json:"desired"`
	Reason  string    `json:"reason"`
}

// summarize is pure: the summary of st.
func summarize(st scheduler.AppStatus) AppSummary {
	as := st.Manifest.Autoscale
	a := AppSummary{
		ID: st.ID, Name: st.Name, Revision: st.Revision, Phase: st.Phase, Instance: st.Manifest.Instance,
		Metric: as.Metric, Target: as.Target, Min: as.Min, Max: as.Max,
		Desired: st.Desired, Ready: st.Ready, RPS: st.RPS, InFlight: st.InFlight,
		Replicas: make([]ReplicaSummary, 0, len(st.Replicas)),
	}
	for _, r := range st.Replicas {
		a.Replicas = append(a.Replicas, ReplicaSummary{Hostname: r.Hostname, State: r.State, CPUPercent: r.CPUPercent,
			MemoryBytes: r.MemoryBytes, MemoryPercent: r.MemoryPercent, ThrottledSeconds: r.ThrottledSeconds, StartedAt: r.StartedAt})
	}
	for i := len(st.Decisions) - 1; i >= 0; i-- {
		d := st.Decisions[i]
		ds := &DecisionSummary{Time: d.Time, Current: d.Current, Desired: d.Desired, Reason: d.Reason}
		if d.Changed() {
			a.LastScale = ds
			break
		}
		if i == len(st.Decisions)-1 {
			a.Autoscaler = ds
		}
	}
	return a
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
