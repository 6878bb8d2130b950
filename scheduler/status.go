package scheduler

import "time"

// Replica states shown by status.
const (
	StateStarting  = "Starting"
	StateReady     = "Ready"
	StateDraining  = "Draining"
	StateCrashed   = "Crashed"
	StateOOMKilled = "OOMKilled"
)

// App phases shown by status.
const (
	PhaseDeploying    = "Deploying"
	PhaseServing      = "Serving"
	PhaseScaledToZero = "ScaledToZero"
	PhaseCrashLoop    = "CrashLoop"
)

// ReplicaStatus is one replica as reported by status.
type ReplicaStatus struct {
	Hostname string `json:"hostname"`
	// Revision is the app revision the replica runs.
	Revision int    `json:"revision"`
	PID      int    `json:"pid"`
	Cgroup   string `json:"cgroup"`
	Address  string `json:"address"`
	State    string `json:"state"`
	// CPUPercent is CPU use in percent of the instance quota over the last tick.
	CPUPercent float64 `json:"cpu_percent"`
	// MemoryBytes is memory.current in bytes; MemoryPercent of the limit.
	MemoryBytes   uint64  `json:"memory_bytes"`
	MemoryPercent float64 `json:"memory_percent"`
	// ThrottledSeconds is the cumulative time the replica was throttled by its quota.
	ThrottledSeconds float64 `json:"throttled_seconds"`
	// Restarts counts crashes of the app before this replica started.
	Restarts  int       `json:"restarts"`
	StartedAt time.Time `json:"started_at"`
	// ExitCode and ExitSignal describe an exited replica.
	ExitCode   int    `json:"exit_code,omitempty"`
	ExitSignal string `json:"exit_signal,omitempty"`
}

// AppStatus is one app as reported by status and list.
type AppStatus struct {
	App
	Phase    string          `json:"phase"`
	Desired  int             `json:"desired"`
	Ready    int             `json:"ready"`
	Restarts int             `json:"restarts"`
	Replicas []ReplicaStatus `json:"replicas"`
	// Exited holds the most recent replicas that crashed or were OOM-killed.
	Exited    []ReplicaStatus `json:"exited,omitempty"`
	Decisions []Decision      `json:"decisions,omitempty"`
	// RPS is requests per second over the last tick; InFlight the requests in flight now.
	RPS      float64 `json:"rps"`
	InFlight float64 `json:"in_flight"`
}
