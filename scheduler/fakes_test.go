package scheduler

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/fnrun/fnrun/router"
	"github.com/fnrun/fnrun/sandbox"
)

// fakeSandbox is a replica whose CPU use the test sets; it listens on a real loopback port so
// the health check passes.
type fakeSandbox struct {
	mu        sync.Mutex
	hostname  string
	ln        net.Listener
	usage     uint64 // cumulative µs
	memory    uint64 // bytes
	throttled uint64 // cumulative µs
	readings  int    // Usage calls
	usageErr  error  // returned by Usage when set
	done      chan struct{}
	exit      sandbox.ExitStatus
	stopped   bool
}

func (f *fakeSandbox) Hostname() string         { return f.hostname }
func (f *fakeSandbox) PID() int                 { return 4242 }
func (f *fakeSandbox) Cgroup() string           { return "/fake/" + f.hostname }
func (f *fakeSandbox) Address() string          { return f.ln.Addr().String() }
func (f *fakeSandbox) Spec() *specs.Spec        { return &specs.Spec{Hostname: f.hostname} }
func (f *fakeSandbox) Done() <-chan struct{}    { return f.done }
func (f *fakeSandbox) Exit() sandbox.ExitStatus { f.mu.Lock(); defer f.mu.Unlock(); return f.exit }
func (f *fakeSandbox) Usage() (sandbox.Usage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readings++
	if f.usageErr != nil {
		return sandbox.Usage{}, f.usageErr
	}
	return sandbox.Usage{CPUUsageUsec: f.usage, MemoryCurrent: f.memory, ThrottledUsec: f.throttled}, nil
}

// Stop closes the listener and marks the process gone.
func (f *fakeSandbox) Stop(time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.stopped {
		f.stopped = true
		f.ln.Close()
		select {
		case <-f.done:
		default:
			close(f.done)
		}
	}
	return nil
}

// crash makes the process exit with code.
func (f *fakeSandbox) crash(code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exit = sandbox.ExitStatus{Code: code}
	f.ln.Close()
	close(f.done)
}

func (f *fakeSandbox) addUsage(us uint64) { f.mu.Lock(); f.usage += us; f.mu.Unlock() }

// fakeSandboxes records every sandbox it started.
type fakeSandboxes struct {
	t       *testing.T
	mu      sync.Mutex
	started []*fakeSandbox
}

func (f *fakeSandboxes) Start(_ context.Context, r sandbox.Replica) (Sandbox, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sb := &fakeSandbox{hostname: r.Hostname, ln: ln, done: make(chan struct{})}
	f.mu.Lock()
	f.started = append(f.started, sb)
	f.mu.Unlock()
	return sb, nil
}

func (f *fakeSandboxes) all() []*fakeSandbox {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*fakeSandbox(nil), f.started...)
}

// fakeRouter records the backends it was given.
type fakeRouter struct {
	mu       sync.Mutex
	apps     map[string]router.AppConfig
	backends map[string][]router.Backend
	drained  []string
}

func newFakeRouter() *fakeRouter {
	return &fakeRouter{apps: map[string]router.AppConfig{}, backends: map[string][]router.Backend{}}
}

func (r *fakeRouter) SetApp(id string, cfg router.AppConfig) {
	r.mu.Lock()
	r.apps[id] = cfg
	r.mu.Unlock()
}
func (r *fakeRouter) RemoveApp(id string) {
	r.mu.Lock()
	delete(r.apps, id)
	delete(r.backends, id)
	r.mu.Unlock()
}
func (r *fakeRouter) SetBackends(id string, ready []router.Backend) {
	r.mu.Lock()
	r.backends[id] = ready
	r.mu.Unlock()
}
func (r *fakeRouter) Drain(_ context.Context, app, b string) error {
	r.mu.Lock()
	r.drained = append(r.drained, b)
	r.mu.Unlock()
	return nil
}
func (r *fakeRouter) Stats(string) (router.AppStats, bool) { return router.AppStats{}, true }
func (r *fakeRouter) ready(id string) []router.Backend {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]router.Backend(nil), r.backends[id]...)
}

// fakeClock is the scheduler's clock in tests: it only moves when the test sets it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Set moves the clock to t and returns t.
func (c *fakeClock) Set(t time.Time) time.Time { c.mu.Lock(); c.now = t; c.mu.Unlock(); return t }
