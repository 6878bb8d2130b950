package sandbox

import (
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A cold start waits for the init binary to start (exec, Go runtime, package initialisers:
// about 3-4 ms for fnrund) and for the kernel to create a veth pair (about 1 ms), most of what
// is left once the init joins its cgroup by itself. So the Manager keeps one spare init that
// has already booted, in fresh namespaces, outside every cgroup of the Manager, with a veth
// pair (down, on no bridge, no address), waiting for its config: Start takes it when it can
// and starts the next spare afterwards. A spare holds no cgroup and no address; its veth pair
// lives in its network namespace and goes with it. It exits by itself when the daemon dies
// (its config pipe reaches EOF), and Close and RemoveRoot kill it.

// spareDelay is how long after a Start the next spare is started, so that its
// boot does not compete for the CPUs with the start of the app just started.
const spareDelay = 20 * time.Millisecond

// spareOutputWait is how long the wait of a replica started from a spare waits for the
// output copiers after the init exited, like exec.Cmd's WaitDelay.
const spareOutputWait = time.Second

// spare is a booted init waiting for its config.
type spare struct {
	init  *launched
	flags uintptr     // its namespaces' clone flags
	out   [2]*os.File // read ends of its stdout and stderr
	veth  string      // host side of its veth pair (bridge network), or ""
}

// spares holds at most one spare; the zero value is empty and open.
type spares struct {
	mu      sync.Mutex
	spare   *spare
	filling bool        // a fill is scheduled or running
	timer   *time.Timer // the scheduled fill
	fills   sync.WaitGroup
	closed  bool
}

// take returns the spare if it has the clone flags flags and still waits,
// else nil (a dead or mismatched spare is discarded).
func (p *spares) take(flags uintptr) *spare {
	p.mu.Lock()
	sp := p.spare
	p.spare = nil
	p.mu.Unlock()
	if sp == nil {
		return nil
	}
	if sp.flags != flags || !sp.waiting() {
		sp.kill()
		return nil
	}
	return sp
}

// fill starts a spare in the background after delay unless there is one,
// one is being started or the pool is closed; start makes it.
func (p *spares) fill(delay time.Duration, start func() (*spare, error)) {
	p.mu.Lock()
	if p.spare != nil || p.filling || p.closed {
		p.mu.Unlock()
		return
	}
	p.filling = true
	p.fills.Add(1)
	// p.mu is held until p.timer is set: close reads it.
	p.timer = time.AfterFunc(delay, func() {
		defer p.fills.Done()
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		var sp *spare
		var err error
		if !closed {
			sp, err = start()
		}
		p.mu.Lock()
		p.filling = false
		if sp == nil || err != nil || p.closed {
			p.mu.Unlock()
			if sp != nil {
				sp.kill()
			}
			return
		}
		p.spare = sp
		p.mu.Unlock()
	})
	p.mu.Unlock()
}

// close kills the spare, and one being started once it has started, and
// keeps the pool empty; it returns when no spare process is left.
func (p *spares) close() {
	p.mu.Lock()
	sp := p.spare
	p.spare = nil
	p.closed = true
	if p.filling && p.timer.Stop() {
		p.filling = false
		p.fills.Done() // the fill never runs
	}
	p.mu.Unlock()
	if sp != nil {
		sp.kill()
	}
	p.fills.Wait()
}

// waiting reports whether the spare's init still waits for its config: it
// has neither written to nor closed its ready pipe.
func (sp *spare) waiting() bool {
	rc, err := sp.init.pipes.ready.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		ok = err == nil && n == 0
	})
	return ok
}

// kill kills and reaps the spare's init and closes its pipes.
func (sp *spare) kill() {
	_ = sp.init.cmd.Process.Kill()
	_ = sp.init.cmd.Wait()
	sp.init.pipes.close()
	sp.init.status.Close()
	sp.out[0].Close()
	sp.out[1].Close()
}

// startSpare starts a spare init with clone flags flags.
func (m *Manager) startSpare(flags uintptr) (*spare, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	l, err := startInit(m.cfg.InitPath, "spare", flags, outW, errW, nil)
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	sp := &spare{init: l, flags: flags, out: [2]*os.File{outR, errR}}
	if m.net != nil && flags&unix.CLONE_NEWNET != 0 {
		// Without it the replica gets a veth pair made when it starts.
		name := spareVethName(l.cmd.Process.Pid)
		if addSpareVeth(name, l.cmd.Process.Pid) == nil {
			sp.veth = name
		}
	}
	return sp, nil
}

// useSpare makes s's init the spare sp: its output is copied to stdout and
// stderr (nil: discarded) until every writer has closed it.
func (s *Sandbox) useSpare(sp *spare, stdout, stderr io.Writer) *initPipes {
	s.cmd, s.status = sp.init.cmd, sp.init.status
	s.spareVeth = sp.veth
	s.out = sp.out
	s.outDone = make(chan struct{})
	var wg sync.WaitGroup
	for i, w := range []io.Writer{stdout, stderr} {
		if w == nil {
			w = io.Discard
		}
		wg.Add(1)
		go func(r *os.File, w io.Writer) {
			defer wg.Done()
			_, _ = io.Copy(w, r)
		}(sp.out[i], w)
	}
	go func() {
		wg.Wait()
		close(s.outDone)
	}()
	return sp.init.pipes
}

// closeOutput waits up to spareOutputWait for the output copiers of a
// replica started from a spare, then closes the pipes. Called once the init
// was reaped.
func (s *Sandbox) closeOutput() {
	if s.outDone == nil {
		return
	}
	t := time.NewTimer(spareOutputWait)
	select {
	case <-s.outDone:
	case <-t.C:
	}
	t.Stop()
	s.out[0].Close()
	s.out[1].Close()
}
