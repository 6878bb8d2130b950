package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// Config wires a Scheduler to the sandboxes, the router and the state dir.
type Config struct {
	Sandboxes Sandboxes
	Router    Router
	Store     *Store
	// StateDir holds apps/<id>/ (code revisions and logs).
	StateDir string
	// Tick is the sampling and decision period (default 250ms).
	Tick time.Duration
	// StopGrace is how long a stopping replica gets after SIGTERM (default 10s).
	StopGrace time.Duration
	// ReadyTimeout is how long a new replica may take to pass its health check (default 60s).
	ReadyTimeout time.Duration
	// Now is the clock (default time.Now); only the control loops read it.
	Now func() time.Time
	// Log receives the scheduler's events (default: discard).
	Log logrus.FieldLogger
	// Dialer makes health-check connections to replicas (default: a plain dialer); fnrund
	// passes the sandbox's, bound to the replicas' bridge.
	Dialer *net.Dialer
}

// ErrCrashLoop is returned by WaitReady when the app keeps crashing before it serves.
var ErrCrashLoop = errors.New("app keeps crashing")

// Scheduler runs every deployed app: one control loop per app.
type Scheduler struct {
	cfg   Config
	probe *prober
	mu    sync.Mutex
	apps  map[string]*appRun
}

// New returns a Scheduler with defaults filled in.
func New(cfg Config) *Scheduler {
	if cfg.Tick <= 0 {
		cfg.Tick = 250 * time.Millisecond
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 10 * time.Second
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 60 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.Out = io.Discard
		cfg.Log = l
	}
	return &Scheduler{cfg: cfg, apps: map[string]*appRun{}, probe: newProber(cfg.Dialer)}
}

// AppDir is the directory of app id in the state dir.
func (s *Scheduler) AppDir(id string) string { return filepath.Join(s.cfg.StateDir, "apps", id) }

// LogPath is the log file of app id.
func (s *Scheduler) LogPath(id string) string { return filepath.Join(s.AppDir(id), "logs", "app.log") }

// Run starts (or, for a known id, rolls out) app. It returns once the app's loop runs; use
// WaitReady to wait for it to serve.
func (s *Scheduler) Run(app App) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.apps[app.ID]; ok {
		a.rollout(app)
		return nil
	}
	a, err := newAppRun(s, app)
	if err != nil {
		return err
	}
	s.apps[app.ID] = a
	s.cfg.Router.SetApp(app.ID, routeConfig(&app.Manifest))
	go a.loop()
	return nil
}

// Poke makes app id's loop run now instead of at its next tick (the activator's hook).
func (s *Scheduler) Poke(id string) {
	s.mu.Lock()
	a := s.apps[id]
	s.mu.Unlock()
	if a != nil {
		a.poke()
	}
}

// WaitReady waits until app id's current revision has n ready replicas. It fails with
// ErrCrashLoop when replicas keep crashing, or with ctx's error.
func (s *Scheduler) WaitReady(ctx context.Context, id string, n int, progress func(string)) error {
	s.mu.Lock()
	a := s.apps[id]
	s.mu.Unlock()
	if a == nil {
		return fmt.Errorf("app %s: %w", id, ErrNotFound)
	}
	return a.waitReady(ctx, n, progress)
}

// Status returns the live status of app id.
func (s *Scheduler) Status(id string) (AppStatus, error) {
	s.mu.Lock()
	a := s.apps[id]
	s.mu.Unlock()
	if a == nil {
		return AppStatus{}, fmt.Errorf("app %s: %w", id, ErrNotFound)
	}
	return a.status(), nil
}

// List returns the status of every app, ordered by id.
func (s *Scheduler) List() []AppStatus {
	s.mu.Lock()
	runs := make([]*appRun, 0, len(s.apps))
	for _, a := range s.apps {
		runs = append(runs, a)
	}
	s.mu.Unlock()
	out := make([]AppStatus, 0, len(runs))
	for _, a := range runs {
		out = append(out, a.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Remove stops every replica of app id (draining them), forgets its route, and deletes its
// record and files when purge is set.
func (s *Scheduler) Remove(ctx context.Context, id string, purge bool) error {
	s.mu.Lock()
	a := s.apps[id]
	delete(s.apps, id)
	s.mu.Unlock()
	if a == nil {
		return fmt.Errorf("app %s: %w", id, ErrNotFound)
	}
	a.shutdown(ctx)
	s.cfg.Router.RemoveApp(id)
	if !purge {
		return nil
	}
	if s.cfg.Store != nil {
		if err := s.cfg.Store.Delete(id); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(s.AppDir(id)); err != nil {
		return fmt.Errorf("remove files of app %s: %w", id, err)
	}
	return nil
}

// Shutdown stops every app's replicas (draining them) but keeps their records, so a restarted
// daemon brings them back.
func (s *Scheduler) Shutdown(ctx context.Context) {
	s.mu.Lock()
	runs := make([]*appRun, 0, len(s.apps))
	for id, a := range s.apps {
		runs = append(runs, a)
		delete(s.apps, id)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, a := range runs {
		wg.Add(1)
		go func() { defer wg.Done(); a.shutdown(ctx) }()
	}
	wg.Wait()
}

// ReplicaSpec returns the OCI spec of replica hostname of app id, or nil.
func (s *Scheduler) ReplicaSpec(id, hostname string) *specs.Spec {
	s.mu.Lock()
	a := s.apps[id]
	s.mu.Unlock()
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if r := a.replicas[hostname]; r != nil && r.sb != nil {
		return r.sb.Spec()
	}
	return nil
}
