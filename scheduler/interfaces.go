package scheduler

import (
	"context"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/fnrun/fnrun/router"
	"github.com/fnrun/fnrun/sandbox"
)

// Sandboxes starts replicas; *sandbox.Manager satisfies it through ManagerSandboxes.
type Sandboxes interface {
	Start(ctx context.Context, r sandbox.Replica) (Sandbox, error)
}

// Sandbox is one running replica as the scheduler sees it.
type Sandbox interface {
	Hostname() string
	PID() int
	Cgroup() string
	Address() string
	Spec() *specs.Spec
	Done() <-chan struct{}
	Exit() sandbox.ExitStatus
	Stop(grace time.Duration) error
	// Usage is the light counter reading the loop takes every tick (CPU,
	// memory, throttling); the full sandbox.Stats is never needed per tick.
	Usage() (sandbox.Usage, error)
}

// Router is the part of the data path the scheduler drives.
type Router interface {
	SetApp(id string, cfg router.AppConfig)
	RemoveApp(id string)
	SetBackends(appID string, ready []router.Backend)
	Drain(ctx context.Context, appID, backendID string) error
	Stats(appID string) (router.AppStats, bool)
}

// ManagerSandboxes adapts a *sandbox.Manager to Sandboxes.
type ManagerSandboxes struct{ M *sandbox.Manager }

// Start starts r in a new sandbox.
func (m ManagerSandboxes) Start(ctx context.Context, r sandbox.Replica) (Sandbox, error) {
	sb, err := m.M.Start(ctx, r)
	if err != nil {
		return nil, err
	}
	return sb, nil
}
