package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	m       *Manager
	rel     string
	spec    *specs.Spec
	leaf    leaf
	cmd     *exec.Cmd
	addr    string
	ip      net.IP   // nil with NetworkHost
	status  *os.File // read end of the init's status pipe
	done    chan struct{}
	exit    ExitStatus
	release func() error // frees what Start allocated besides the cgroup

	stopOnce sync.Once
	stopErr  error

	usage usageReader // per-tick counter files, closed by stop (usage.go)
}

// ErrStartCanceled is returned by Start when ctx ended during the start.
var ErrStartCanceled = errors.New("sandbox start canceled")

// initArg is os.Args[1] of a process started as the sandbox init.
const initArg = "__fnrun_init"

// Start starts r in a new sandbox: it creates the leaf cgroup with the
// replica's limits, starts the init inside it (v2: CLONE_INTO_CGROUP; v1:
// the init waits until its pid is in every hierarchy) and returns once the
// app's command was executed. A command that cannot be executed is an error.
func (m *Manager) Start(ctx context.Context, r Replica) (*Sandbox, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start %s: %w: %w", r.Hostname, ErrStartCanceled, err)
	}
	s := &Sandbox{m: m, done: make(chan struct{}), release: func() error { return nil }}
	var spec *specs.Spec
	if m.net == nil {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", r.Hostname, err)
		}
		spec = BuildSpec(r, port)
		spec.Linux.Namespaces = withoutNamespace(spec.Linux.Namespaces, specs.NetworkNamespace)
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	} else {
		ip, err := m.net.ipam.allocate(r.Hostname)
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", r.Hostname, err)
		}
		spec = BuildSpec(r, BridgePort)
		spec.Annotations[annotationIP] = ip.String()
		s.ip = ip
		s.addr = net.JoinHostPort(ip.String(), strconv.Itoa(BridgePort))
		s.release = func() error {
			return errors.Join(m.net.detach(ip), m.net.ipam.release(ip))
		}
	}
	spec.Process.User = m.user
	if r.GID != 0 {
		spec.Process.User.GID = r.GID
	}
	s.spec = spec
	s.rel = spec.Linux.CgroupsPath
	spec.Linux.CgroupsPath = filepath.Join(m.drv.group(), s.rel)

	m.mu.Lock()
	l, err := m.drv.create(s.rel, spec.Linux.Resources)
	m.mu.Unlock()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("start %s: %w", r.Hostname, err), s.release())
	}
	s.leaf = l
	if err := s.start(ctx, r); err != nil {
		m.mu.Lock()
		derr := destroy(m.drv, s.rel)
		if derr == nil {
			derr = removeIfEmpty(m.drv, r.App)
		}
		m.mu.Unlock()
		return nil, errors.Join(fmt.Errorf("start %s: %w", r.Hostname, err), derr, s.release())
	}
	return s, nil
}

// start runs the init and hands it the spec; on error nothing of the
// process is left running.
func (s *Sandbox) start(ctx context.Context, r Replica) error {
	specJSON, err := json.Marshal(s.spec)
	if err != nil {
		return fmt.Errorf("encode spec: %w", err)
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("spec pipe: %w", err)
	}
	defer specW.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		specR.Close()
		return fmt.Errorf("ready pipe: %w", err)
	}
	defer readyR.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		specR.Close()
		readyW.Close()
		return fmt.Errorf("status pipe: %w", err)
	}
	defer statusW.Close()

	cmd := exec.Command(s.m.cfg.InitPath, initArg, r.Hostname)
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = r.Stdout, r.Stderr
	cmd.ExtraFiles = []*os.File{specR, readyW, statusW} // fds 3, 4, 5 in the init
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: cloneFlags(s.spec), Setpgid: true}
	cmd.WaitDelay = time.Second // output pipes held open by leftovers do not hold Wait
	releaseFD, err := s.leaf.prepare(cmd)
	if err != nil {
		specR.Close()
		readyW.Close()
		statusR.Close()
		return err
	}
	err = cmd.Start()
	releaseFD()
	specR.Close()
	readyW.Close()
	statusW.Close()
	if err != nil {
		statusR.Close()
		return fmt.Errorf("run init %s: %w", s.m.cfg.InitPath, err)
	}
	s.cmd = cmd
	s.status = statusR
	go s.wait()

	fail := func(err error) error {
		_ = cmd.Process.Kill()
		<-s.done
		return err
	}
	if err := s.leaf.confine(cmd.Process.Pid); err != nil {
		return fail(err)
	}
	if s.ip != nil {
		if err := s.m.net.attach(cmd.Process.Pid, s.ip); err != nil {
			return fail(err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrStartCanceled, err))
	}
	if _, err := specW.Write(specJSON); err != nil {
		return fail(fmt.Errorf("send spec to init: %w", err))
	}
	specW.Close()
	// The init closes the ready pipe once the app runs, or writes why it could not.
	type ready struct {
		msg []byte
		err error
	}
	readyCh := make(chan ready, 1)
	go func() {
		msg, err := io.ReadAll(readyR)
		readyCh <- ready{msg, err}
	}()
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case rd := <-readyCh:
		if rd.err != nil {
			return fail(fmt.Errorf("read init status: %w", rd.err))
		}
		if len(rd.msg) > 0 {
			return fail(fmt.Errorf("init: %s", rd.msg))
		}
		return nil
	case <-ctx.Done():
		return fail(fmt.Errorf("%w: %w", ErrStartCanceled, ctx.Err()))
	case <-t.C:
		return fail(fmt.Errorf("init did not start the app within %s", startTimeout))
	}
}

// startTimeout bounds how long Start waits for the init to run the app.
const startTimeout = 30 * time.Second

// wait reaps the init and records its exit.
func (s *Sandbox) wait() {
	err := s.cmd.Wait()
	st := exitStatus(s.cmd.ProcessState, err)
	// In supervisor mode the init reports the app's own status.
	msg, _ := io.ReadAll(s.status)
	s.status.Close()
	if app, ok := parseStatus(string(msg)); ok {
		st = app
	}
	if st.Code != 0 {
		if n, err := s.leaf.oomKills(); err == nil && n > 0 {
			st.OOMKilled = true
		}
	}
	s.exit = st
	close(s.done)
}

// cloneFlags maps the spec's namespaces to clone flags.
func cloneFlags(spec *specs.Spec) uintptr {
	var f uintptr
	for _, ns := range spec.Linux.Namespaces {
		switch ns.Type {
		case specs.UTSNamespace:
			f |= syscall.CLONE_NEWUTS
		case specs.IPCNamespace:
			f |= syscall.CLONE_NEWIPC
		case specs.PIDNamespace:
			f |= syscall.CLONE_NEWPID
		case specs.NetworkNamespace:
			f |= syscall.CLONE_NEWNET
		case specs.MountNamespace:
			f |= syscall.CLONE_NEWNS
		}
	}
	return f
}

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
