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
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// initArg is os.Args[1] of a process started as the sandbox init.
const initArg = "__fnrun_init"

// startTimeout bounds how long Start waits for the init to run the app.
const startTimeout = 30 * time.Second

// Start starts r in a new sandbox: it creates the leaf cgroup with the
// replica's limits, runs the init in it (v2: started inside it with
// CLONE_INTO_CGROUP; v1: the init moves itself in before anything else, see
// start_cgroup.go), wires the network and returns once the app's command was
// executed. A command that cannot be executed is an error.
//
// On v1 the init is the Manager's spare when it has one (start_spare.go),
// else it is started first, so that its start-up overlaps creating the
// cgroup. The init sets the sandbox up while the network is wired and runs
// the app once that is done.
func (m *Manager) Start(ctx context.Context, r Replica) (*Sandbox, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start %s: %w: %w", r.Hostname, ErrStartCanceled, err)
	}
	s := &Sandbox{m: m, done: make(chan struct{}), release: func() error { return nil }}
	if err := s.start(ctx, r); err != nil {
		return nil, errors.Join(fmt.Errorf("start %s: %w", r.Hostname, err), s.undoStart(r.App))
	}
	return s, nil
}

// start does Start's work; on error undoStart removes what it left.
func (s *Sandbox) start(ctx context.Context, r Replica) error {
	m := s.m
	spec, port, err := m.replicaSpec(r)
	if err != nil {
		return err
	}
	s.spec = spec
	s.rel = spec.Linux.CgroupsPath
	spec.Linux.CgroupsPath = filepath.Join(m.drv.group(), s.rel)
	// The address is allocated while the init and the cgroup are readied.
	var ipc <-chan allocation
	if m.net != nil {
		ch := make(chan allocation, 1)
		go func() {
			ip, err := m.net.ipam.allocate(r.Hostname)
			ch <- allocation{ip, err}
		}()
		ipc = ch
		defer s.takeAddress(ipc) // so that undoStart frees it, on every early return
	}
	var in *initPipes
	var leafc <-chan createdLeaf
	if joiner, selfJoin := m.drv.(selfJoiner); selfJoin {
		// v1: the init joins the leaf itself, so it can be started, or have
		// been started as the spare, before the leaf exists, which is
		// created while the network is wired.
		flags := cloneFlags(spec)
		if sp := m.spares.take(flags); sp != nil {
			in = s.useSpare(sp, r.Stdout, r.Stderr)
		} else if in, err = s.launch(r, false); err != nil {
			return err
		}
		defer in.close()
		defer m.spares.fill(spareDelay, func() (*spare, error) { return m.startSpare(flags) })
		// The init starts its setup while the cgroup is created.
		if err := in.send(newInitConfig(spec, joiner.tasksFiles(s.rel))); err != nil {
			return err
		}
		leafc = s.createLeaf(in)
		defer s.takeLeaf(leafc) // so that undoStart removes it, on every early return
	} else {
		// v2: the init starts in the leaf (CLONE_INTO_CGROUP).
		if err := s.takeLeaf(s.createLeaf(nil)); err != nil {
			return err
		}
		if in, err = s.launch(r, true); err != nil {
			return err
		}
		defer in.close()
		if err := s.leaf.confine(s.cmd.Process.Pid); err != nil {
			return err
		}
		if err := in.send(newInitConfig(spec, nil)); err != nil {
			return err
		}
		if err := in.signal(initCgroup); err != nil {
			return err
		}
	}
	if m.net == nil {
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	} else {
		if err := s.takeAddress(ipc); err != nil {
			return err
		}
		if err := m.net.attach(s.cmd.Process.Pid, s.ip, s.spareVeth); err != nil {
			return in.failed(err) // the init may have failed, taking its namespace
		}
	}
	if leafc != nil {
		if err := s.takeLeaf(leafc); err != nil {
			return in.failed(err)
		}
	}
	s.waiting = true
	go s.wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrStartCanceled, err)
	}
	return in.release(ctx)
}

// createdLeaf is the result of creating the leaf cgroup.
type createdLeaf struct {
	leaf leaf
	err  error
}

// createLeaf creates s's leaf cgroup in the background and then, with in,
// tells the init it may join it (initCgroup).
func (s *Sandbox) createLeaf(in *initPipes) <-chan createdLeaf {
	c := make(chan createdLeaf, 1)
	go func() {
		s.m.mu.Lock()
		l, err := s.m.drv.create(s.rel, s.spec.Linux.Resources)
		s.m.mu.Unlock()
		if err == nil && in != nil {
			if _, werr := in.spec.Write([]byte{initCgroup}); werr != nil {
				err = fmt.Errorf("send %q to init: %w", initCgroup, werr)
			}
		}
		c <- createdLeaf{l, err}
	}()
	return c
}

// takeLeaf waits for the leaf from c, the first time it is called, and
// records it as s's, to be removed by undoStart or Stop.
func (s *Sandbox) takeLeaf(c <-chan createdLeaf) error {
	if s.leaf != nil || s.leafErr != nil {
		return s.leafErr
	}
	cl := <-c
	s.leaf, s.leafErr = cl.leaf, cl.err
	if s.leaf == nil && s.leafErr == nil {
		s.leafErr = errors.New("no cgroup created")
	}
	return s.leafErr
}

// allocation is the result of an address allocation.
type allocation struct {
	ip  net.IP
	err error
}

// takeAddress waits for the allocation on c, the first time it is called,
// and records the address as s's, to be freed by s.release.
func (s *Sandbox) takeAddress(c <-chan allocation) error {
	if s.ip != nil || s.ipErr != nil {
		return s.ipErr
	}
	a := <-c
	if a.err != nil {
		s.ipErr = a.err
		return a.err
	}
	m := s.m
	s.ip = a.ip
	s.spec.Annotations[annotationIP] = a.ip.String()
	s.addr = net.JoinHostPort(a.ip.String(), strconv.Itoa(BridgePort))
	s.release = func() error {
		return errors.Join(m.net.detach(a.ip), m.net.ipam.release(a.ip))
	}
	return nil
}

// replicaSpec builds r's spec with the Manager's network and user; port is
// the port the replica listens on.
func (m *Manager) replicaSpec(r Replica) (*specs.Spec, int, error) {
	var spec *specs.Spec
	port := BridgePort
	if m.net == nil {
		var err error
		if port, err = freePort(); err != nil {
			return nil, 0, err
		}
		spec = BuildSpec(r, port)
		spec.Linux.Namespaces = withoutNamespace(spec.Linux.Namespaces, specs.NetworkNamespace)
	} else {
		spec = BuildSpec(r, port)
	}
	spec.Process.User = m.user
	if r.GID != 0 {
		spec.Process.User.GID = r.GID
	}
	return spec, port, nil
}

// initPipes are the parent's ends of a launched init's spec and ready pipes.
type initPipes struct {
	spec    *os.File // write: the initConfig as JSON, then initGo
	ready   *os.File // read: EOF once the app runs, or why it could not
	readyCh chan readyMsg
}

func (p *initPipes) close() {
	p.spec.Close()
	p.ready.Close()
}

// launch starts the init (in the leaf when inLeaf, which must exist) without
// its spec: it boots and waits for handoff.
func (s *Sandbox) launch(r Replica, inLeaf bool) (*initPipes, error) {
	var prepare func(*exec.Cmd) (func(), error)
	if inLeaf {
		prepare = s.leaf.prepare
	}
	l, err := startInit(s.m.cfg.InitPath, r.Hostname, cloneFlags(s.spec), r.Stdout, r.Stderr, prepare)
	if err != nil {
		return nil, err
	}
	s.cmd, s.status = l.cmd, l.status
	return l.pipes, nil
}

// launched is an init that runs and waits for its config.
type launched struct {
	cmd    *exec.Cmd
	pipes  *initPipes
	status *os.File // read end of the status pipe
}

// startInit starts initPath as an init in new namespaces (flags); name is
// shown in its argv; prepare, if not nil, readies cmd to start in a cgroup.
func startInit(initPath, name string, flags uintptr, stdout, stderr io.Writer, prepare func(*exec.Cmd) (func(), error)) (*launched, error) {
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("spec pipe: %w", err)
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		specR.Close()
		specW.Close()
		return nil, fmt.Errorf("ready pipe: %w", err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		specR.Close()
		specW.Close()
		readyR.Close()
		readyW.Close()
		return nil, fmt.Errorf("status pipe: %w", err)
	}
	cmd := exec.Command(initPath, initArg, name)
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.ExtraFiles = []*os.File{specR, readyW, statusW} // fds 3, 4, 5 in the init
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags, Setpgid: true}
	cmd.WaitDelay = time.Second // output pipes held open by leftovers do not hold Wait
	releaseFD := func() {}
	if prepare != nil {
		releaseFD, err = prepare(cmd)
	}
	if err == nil {
		err = cmd.Start()
		releaseFD()
	}
	specR.Close()
	readyW.Close()
	statusW.Close()
	if err != nil {
		specW.Close()
		readyR.Close()
		statusR.Close()
		return nil, fmt.Errorf("run init %s: %w", initPath, err)
	}
	return &launched{cmd: cmd, pipes: &initPipes{spec: specW, ready: readyR}, status: statusR}, nil
}

// send sends the init its config: it sets the sandbox up as far as it can
// before signal(initCgroup) and release. Its answer is read from then on.
func (p *initPipes) send(cfg initConfig) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode spec: %w", err)
	}
	// The init closes the ready pipe once the app runs, or writes why it could not.
	p.readyCh = make(chan readyMsg, 1)
	go func() {
		msg, err := io.ReadAll(p.ready)
		p.readyCh <- readyMsg{msg, err}
	}()
	if _, err := p.spec.Write(b); err != nil {
		return p.failed(fmt.Errorf("send spec to init: %w", err))
	}
	return nil
}

// readyMsg is what the init wrote to its ready pipe before closing it.
type readyMsg struct {
	msg []byte
	err error
}

// signal sends the init the byte b (initCgroup).
func (p *initPipes) signal(b byte) error {
	if _, err := p.spec.Write([]byte{b}); err != nil {
		return p.failed(fmt.Errorf("send %q to init: %w", b, err))
	}
	return nil
}

// release lets the init run the app (initGo) and waits until it has.
func (p *initPipes) release(ctx context.Context) error {
	err := p.signal(initGo)
	p.spec.Close()
	if err != nil {
		return err
	}
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case rd := <-p.readyCh:
		if rd.err != nil {
			return fmt.Errorf("read init status: %w", rd.err)
		}
		if len(rd.msg) > 0 {
			return fmt.Errorf("init: %s", rd.msg)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrStartCanceled, ctx.Err())
	case <-t.C:
		return fmt.Errorf("init did not start the app within %s", startTimeout)
	}
}

// failed returns why the init failed, if it said so within a moment, rather
// than err, the broken pipe that its exit caused.
func (p *initPipes) failed(err error) error {
	t := time.NewTimer(initExplainWait)
	defer t.Stop()
	select {
	case rd := <-p.readyCh:
		if len(rd.msg) > 0 {
			return fmt.Errorf("init: %s", rd.msg)
		}
	case <-t.C:
	}
	return err
}

// initExplainWait bounds how long failed waits for the init's own error: an
// init that failed has written it before exiting, which closes the pipe.
const initExplainWait = 100 * time.Millisecond

// undoStart kills the init, if it runs, and removes the cgroup and frees
// the network that a failed start left.
func (s *Sandbox) undoStart(app string) error {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		if !s.waiting {
			s.waiting = true
			go s.wait()
		}
		<-s.done
	}
	var err error
	if s.leaf != nil {
		s.m.mu.Lock()
		err = destroy(s.m.drv, s.rel)
		if err == nil {
			err = removeIfEmpty(s.m.drv, app)
		}
		s.m.mu.Unlock()
	}
	return errors.Join(err, s.release())
}

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
	if st.Code != 0 && s.leaf != nil {
		if n, err := s.leaf.oomKills(); err == nil && n > 0 {
			st.OOMKilled = true
		}
	}
	s.closeOutput()
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
