package sandbox

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/fnrun/fnrun/runtime"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Replica describes one replica to start.
type Replica struct {
	// App is the app id, a DNS label, e.g. "fastapi-2a94b25a5f".
	App string
	// Revision is the revision number, e.g. "00001".
	Revision string
	// Hostname is unique among replicas, a DNS label, and the leaf cgroup's name.
	Hostname string
	// Args is the argv; "$PORT" and "${PORT}" are expanded.
	Args []string
	// Env is extra environment from the manifest or detection.
	Env map[string]string
	// Dir is the working directory (the revision's code directory).
	Dir string
	// Instance is the replica's resources.
	Instance runtime.Instance
	// Stdout and Stderr receive the replica's output; nil discards it.
	Stdout, Stderr io.Writer
	// GID, when non-zero, is the replica's primary group instead of the sandbox user's: the
	// daemon gives each app its own gid and its code that group only, so no app reads another's.
	GID uint32
}

// Sandbox is one running (or exited) replica.
type Sandbox struct {
	m         *Manager
	rel       string
	spec      *specs.Spec
	leaf      leaf
	cmd       *exec.Cmd
	addr      string
	ip        net.IP   // nil with NetworkHost
	status    *os.File // read end of the init's status pipe
	done      chan struct{}
	exit      ExitStatus
	release   func() error  // frees what Start allocated besides the cgroup
	waiting   bool          // wait runs (set by the starting goroutine before it starts wait)
	ipErr     error         // the address allocation failed (during Start)
	leafErr   error         // the cgroup creation failed (during Start)
	out       [2]*os.File   // started from a spare: read ends of the init's stdout, stderr
	outDone   chan struct{} // started from a spare: closed once the output is copied
	spareVeth string        // started from a spare: the host side of its veth pair, or ""

	stopOnce sync.Once
	stopErr  error

	usage usageReader // per-tick counter files, closed by stop (usage.go)
}

// ErrStartCanceled is returned by Start when ctx ended during the start.
var ErrStartCanceled = errors.New("sandbox start canceled")

// Hostname returns the replica's hostname.
func (s *Sandbox) Hostname() string { return s.spec.Hostname }

// PID returns the host pid of the replica's top process.
func (s *Sandbox) PID() int { return s.cmd.Process.Pid }

// Cgroup returns the replica's cgroup directory (v1: in the cpu hierarchy).
func (s *Sandbox) Cgroup() string { return s.leaf.path() }

// IP returns the replica's address on the bridge, or nil with NetworkHost.
func (s *Sandbox) IP() net.IP { return s.ip }

// Address returns the host:port the router dials.
func (s *Sandbox) Address() string { return s.addr }

// Spec returns the OCI spec the replica was started with; cgroupsPath is
// relative to the cgroup mount.
func (s *Sandbox) Spec() *specs.Spec { return s.spec }

// Done is closed when the replica's process has exited.
func (s *Sandbox) Done() <-chan struct{} { return s.done }

// Exit returns how the replica ended; valid once Done is closed.
func (s *Sandbox) Exit() ExitStatus {
	select {
	case <-s.done:
		return s.exit
	default:
		return ExitStatus{Code: -1}
	}
}

// Stats reads the replica's cgroup counters.
func (s *Sandbox) Stats() (Stats, error) { return s.leaf.stats() }

// stopWait bounds how long Stop waits for killed processes to go away.
const stopWait = 10 * time.Second

// Stop sends SIGTERM to the replica, waits up to grace (≤0: the Manager's
// StopGrace) for it to exit, then kills everything left in its cgroup,
// waits for the cgroup to empty and removes it, and its app's cgroup when
// that became empty. Stop is idempotent: later calls return the first result.
func (s *Sandbox) Stop(grace time.Duration) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(grace) })
	return s.stopErr
}

func (s *Sandbox) stop(grace time.Duration) error {
	if grace <= 0 {
		grace = s.m.cfg.StopGrace
	}
	select {
	case <-s.done:
	default:
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err == nil {
			t := time.NewTimer(grace)
			select {
			case <-s.done:
			case <-t.C:
			}
			t.Stop()
		}
	}
	var errs []error
	if err := s.usage.close(); err != nil {
		errs = append(errs, fmt.Errorf("stop %s: %w", s.Hostname(), err))
	}
	if err := s.m.drv.killAll(s.rel); err != nil {
		errs = append(errs, fmt.Errorf("stop %s: %w", s.Hostname(), err))
	}
	select {
	case <-s.done:
	case <-time.After(stopWait):
		_ = s.cmd.Process.Kill()
		errs = append(errs, fmt.Errorf("stop %s: init pid %d did not exit", s.Hostname(), s.PID()))
	}
	if err := waitEmpty(s.m.drv, s.rel, stopWait); err != nil {
		errs = append(errs, fmt.Errorf("stop %s: %w", s.Hostname(), err))
	} else {
		s.m.mu.Lock()
		if err := rmdirs(s.m.drv.dirs(s.rel)); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", s.Hostname(), err))
		} else if err := removeIfEmpty(s.m.drv, filepath.Dir(s.rel)); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", s.Hostname(), err))
		}
		s.m.mu.Unlock()
	}
	if err := s.release(); err != nil {
		errs = append(errs, fmt.Errorf("stop %s: %w", s.Hostname(), err))
	}
	return errors.Join(errs...)
}
