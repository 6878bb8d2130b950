package scheduler

import (
	"context"
	"crypto/rand"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fnrun/fnrun/router"
	"github.com/fnrun/fnrun/sandbox"
)

// maxDecisions is how many scaling decisions (changes) status keeps per app.
const maxDecisions = 20

// maxExited is how many exited replicas status keeps per app.
const maxExited = 10

// crashLoopAfter is the number of consecutive crashes after which an app is in CrashLoop.
const crashLoopAfter = 3

// replica is one replica as the app loop tracks it.
type replica struct {
	hostname  string
	revision  int
	sb        Sandbox // nil until the sandbox has started
	state     string
	stopping  bool
	failed    bool // the loop gave up on it (health check timed out)
	restarts  int
	startedAt time.Time
	readyAt   time.Time

	// CPU sampling: the previous cumulative usage and when it was read.
	prevUsage uint64
	prevAt    time.Time
	havePrev  bool
	cpu       float64
	mem       float64
	memBytes  uint64
	throttled float64

	out, errw *LineWriter
}

// appRun is the control loop of one app and everything it knows.
type appRun struct {
	s *Scheduler

	mu        sync.Mutex
	app       App
	desired   int
	replicas  map[string]*replica
	exited    []ReplicaStatus
	history   []Snapshot
	decisions []Decision
	last      Decision
	crashes   int // consecutive crashes since a replica last became ready
	restarts  int // total crashes
	nextStart time.Time
	progress  []string
	changed   chan struct{}
	prevReq   uint64
	prevReqAt time.Time
	rps       float64
	inflight  float64
	logs      *LogSink

	pokeCh chan struct{}
	quit   chan struct{}
	done   chan struct{}
}

func newAppRun(s *Scheduler, app App) (*appRun, error) {
	logs, err := OpenLogSink(s.LogPath(app.ID), 0)
	if err != nil {
		return nil, err
	}
	return &appRun{
		s:        s,
		app:      app,
		desired:  max(app.Manifest.Autoscale.Min, 1), // every deploy proves it serves; min 0 scales to zero later
		replicas: map[string]*replica{},
		changed:  make(chan struct{}),
		logs:     logs,
		pokeCh:   make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}, nil
}

func (a *appRun) scaleSpec() ScaleSpec {
	as := a.app.Manifest.Autoscale
	return ScaleSpec{
		Metric:          as.Metric,
		Target:          float64(as.Target),
		Min:             as.Min,
		Max:             as.Max,
		Instance:        a.app.Manifest.Instance,
		ScaleUpWindow:   as.ScaleUpWindow.D(),
		ScaleDownWindow: as.ScaleDownWindow.D(),
	}
}

func (a *appRun) poke() {
	select {
	case a.pokeCh <- struct{}{}:
	default:
	}
}

// notify wakes everybody waiting for a state change; the caller holds a.mu.
func (a *appRun) notify() {
	close(a.changed)
	a.changed = make(chan struct{})
}

func (a *appRun) say(format string, args ...any) {
	a.progress = append(a.progress, fmt.Sprintf(format, args...))
	if len(a.progress) > 200 {
		a.progress = a.progress[len(a.progress)-100:]
	}
}

// loop ticks at once, then on every poke and at every multiple of Tick since the Unix epoch:
// all apps' loops wake at the same instants, so the daemon wakes once per tick period for all
// of them instead of once per app (each wakeup costs the Go runtime more than a loop's work).
func (a *appRun) loop() {
	defer close(a.done)
	t := time.NewTimer(untilNextTick(a.s.cfg.Now(), a.s.cfg.Tick))
	defer t.Stop()
	for {
		a.tick(a.s.cfg.Now())
		select {
		case <-a.quit:
			return
		case <-t.C:
		case <-a.pokeCh:
		}
		t.Reset(untilNextTick(a.s.cfg.Now(), a.s.cfg.Tick))
	}
}

// untilNextTick is the time from now to the next multiple of tick since the Unix epoch, in (0, tick].
func untilNextTick(now time.Time, tick time.Duration) time.Duration {
	return tick - time.Duration(now.UnixNano()%int64(tick))
}

// tick samples, decides and reconciles once.
func (a *appRun) tick(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	snap := a.sample(now)
	a.history = append(a.history, snap)
	spec := a.scaleSpec()
	keep := spec.HistoryNeeded() + 2*a.s.cfg.Tick
	i := 0
	for i < len(a.history) && now.Sub(a.history[i].Time) > keep {
		i++
	}
	a.history = a.history[i:]

	d := Decide(now, a.desired, a.history, spec)
	a.last = d
	if d.Changed() {
		a.desired = d.Desired
		a.decisions = append(a.decisions, d)
		if len(a.decisions) > maxDecisions {
			a.decisions = a.decisions[len(a.decisions)-maxDecisions:]
		}
		a.s.cfg.Log.WithField("app", a.app.ID).WithField("from", d.Current).WithField("to", d.Desired).Info(d.Reason)
		a.notify()
	}
	a.reconcile(now)
}

// sample takes every replica's light cgroup reading (Usage: one pread per
// kept-open counter file, fewer for an idle replica; not the full Stats) and
// the router's counters; the caller holds a.mu.
func (a *appRun) sample(now time.Time) Snapshot {
	cores := a.app.Manifest.InstanceType().Cores()
	memLimit := float64(a.app.Manifest.InstanceType().MemoryBytes)
	snap := Snapshot{Time: now}
	for _, r := range a.replicas {
		if r.sb == nil || r.stopping {
			continue
		}
		st, err := r.sb.Usage()
		rs := ReplicaSample{Name: r.hostname, Ready: r.state == StateReady}
		if err != nil {
			rs.Missing = true
			r.havePrev = false
		} else {
			if r.havePrev && now.After(r.prevAt) && st.CPUUsageUsec >= r.prevUsage {
				wall := float64(now.Sub(r.prevAt).Microseconds())
				r.cpu = float64(st.CPUUsageUsec-r.prevUsage) / (wall * cores) * 100
				rs.CPU = r.cpu
			} else {
				rs.Missing = true
			}
			r.prevUsage, r.prevAt, r.havePrev = st.CPUUsageUsec, now, true
			r.memBytes = st.MemoryCurrent
			if memLimit > 0 {
				r.mem = float64(st.MemoryCurrent) / memLimit * 100
			}
			rs.Memory = r.mem
			r.throttled = float64(st.ThrottledUsec) / 1e6
		}
		snap.Replicas = append(snap.Replicas, rs)
	}
	sort.Slice(snap.Replicas, func(i, j int) bool { return snap.Replicas[i].Name < snap.Replicas[j].Name })
	if st, ok := a.s.cfg.Router.Stats(a.app.ID); ok {
		if !a.prevReqAt.IsZero() && now.After(a.prevReqAt) && st.Requests >= a.prevReq {
			a.rps = float64(st.Requests-a.prevReq) / now.Sub(a.prevReqAt).Seconds()
		}
		a.prevReq, a.prevReqAt = st.Requests, now
		a.inflight = float64(st.InFlight)
		snap.RPS, snap.InFlight = a.rps, a.inflight
	}
	return snap
}

// reconcile drives the replicas towards a.desired; the caller holds a.mu.
func (a *appRun) reconcile(now time.Time) {
	var cur, old []*replica
	readyCur := 0
	for _, r := range a.replicas {
		if r.stopping {
			continue
		}
		if r.revision == a.app.Revision {
			cur = append(cur, r)
			if r.state == StateReady {
				readyCur++
			}
		} else {
			old = append(old, r)
		}
	}
	switch need := a.desired - len(cur); {
	case need > 0 && !now.Before(a.nextStart):
		for i := 0; i < need; i++ {
			a.startReplica(now, len(cur)+i+1)
		}
	case need < 0:
		for _, r := range a.victims(cur, -need) {
			a.drainAndStop(r)
		}
	}
	// Roll out: old revisions go only once the new one serves at the desired count.
	if len(old) > 0 && readyCur >= a.desired {
		for _, r := range old {
			a.drainAndStop(r)
		}
	}
}

// victims picks n replicas to remove: not-yet-ready ones first, then the least busy.
func (a *appRun) victims(rs []*replica, n int) []*replica {
	var inflight map[string]int64
	if st, ok := a.s.cfg.Router.Stats(a.app.ID); ok {
		inflight = st.Backends
	}
	sorted := append([]*replica(nil), rs...)
	sort.Slice(sorted, func(i, j int) bool {
		ri, rj := sorted[i], sorted[j]
		if (ri.state == StateReady) != (rj.state == StateReady) {
			return ri.state != StateReady
		}
		if inflight[ri.hostname] != inflight[rj.hostname] {
			return inflight[ri.hostname] < inflight[rj.hostname]
		}
		if ri.cpu != rj.cpu {
			return ri.cpu < rj.cpu
		}
		return ri.startedAt.After(rj.startedAt)
	})
	if n > len(sorted) {
		n = len(sorted)
	}
	return sorted[:n]
}

func randomSuffix() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)] // a slight bias is fine for a name suffix
	}
	return string(b)
}

// startReplica starts one replica of the current revision in the background; the caller holds a.mu.
func (a *appRun) startReplica(now time.Time, nth int) {
	app := a.app
	r := &replica{
		hostname:  fmt.Sprintf("%s-%s-%s", app.ID, RevisionName(app.Revision), randomSuffix()),
		revision:  app.Revision,
		state:     StateStarting,
		restarts:  a.restarts,
		startedAt: now,
	}
	r.out, r.errw = a.logs.Writer(r.hostname), a.logs.Writer(r.hostname)
	a.replicas[r.hostname] = r
	a.say("replica %d of %d starting (%s)", nth, a.desired, r.hostname)
	a.notify()
	env := map[string]string{}
	for k, v := range app.Command.Env {
		env[k] = v
	}
	for k, v := range app.Manifest.Env {
		env[k] = v
	}
	spec := sandbox.Replica{
		App:      app.ID,
		Revision: RevisionName(app.Revision),
		Hostname: r.hostname,
		Args:     app.Command.Args,
		Env:      env,
		Dir:      app.CodeDir,
		Instance: app.Manifest.InstanceType(),
		Stdout:   r.out,
		Stderr:   r.errw,
		GID:      app.GID,
	}
	go func() {
		sb, err := a.s.cfg.Sandboxes.Start(context.Background(), spec)
		a.mu.Lock()
		if err != nil {
			a.s.cfg.Log.WithField("app", app.ID).WithField("replica", r.hostname).WithError(err).Error("start replica")
			a.logs.WriteLine(r.hostname, []byte("fnrun: start failed: "+err.Error()))
			delete(a.replicas, r.hostname)
			a.crashed(r, sandbox.ExitStatus{Code: -1}, a.s.cfg.Now())
			a.mu.Unlock()
			return
		}
		r.sb = sb
		if r.stopping {
			a.mu.Unlock()
			a.finishStop(r)
			return
		}
		a.mu.Unlock()
		go a.watch(r)
		go a.probe(r, app.Manifest.Health, app.Manifest.H2C())
	}()
}

// crashed records that r exited on its own and schedules the restart backoff; the caller holds a.mu.
func (a *appRun) crashed(r *replica, exit sandbox.ExitStatus, now time.Time) {
	state := StateCrashed
	if exit.OOMKilled {
		state = StateOOMKilled
	}
	a.crashes++
	a.restarts++
	backoff := 500 * time.Millisecond << min(a.crashes-1, 6)
	if backoff > 30*time.Second {
		backoff = 30 * time.Second
	}
	a.nextStart = now.Add(backoff)
	rs := a.replicaStatus(r)
	rs.State, rs.ExitCode, rs.ExitSignal = state, exit.Code, exit.Signal
	a.exited = append(a.exited, rs)
	if len(a.exited) > maxExited {
		a.exited = a.exited[len(a.exited)-maxExited:]
	}
	why := fmt.Sprintf("exit code %d", exit.Code)
	if exit.Signal != "" {
		why = "signal " + exit.Signal
	}
	if exit.OOMKilled {
		why = "killed by the OOM killer (memory limit)"
	}
	a.say("replica %s %s: %s; restarting in %s", r.hostname, strings.ToLower(state), why, backoff)
	a.s.cfg.Log.WithField("app", a.app.ID).WithField("replica", r.hostname).WithField("state", state).Warn(why)
	a.updateBackends()
	a.notify()
	a.poke()
}

// watch waits for r's process to exit and treats an unexpected exit as a crash.
func (a *appRun) watch(r *replica) {
	<-r.sb.Done()
	r.out.Flush()
	r.errw.Flush()
	a.mu.Lock()
	if r.stopping && !r.failed {
		a.mu.Unlock()
		return
	}
	delete(a.replicas, r.hostname)
	a.crashed(r, r.sb.Exit(), a.s.cfg.Now())
	a.mu.Unlock()
	// Clean the cgroup (and anything the app left in it).
	_ = r.sb.Stop(0)
}

// probe waits until r answers its health check, then makes it ready.
func (a *appRun) probe(r *replica, healthPath string, h2c bool) {
	deadline := time.Now().Add(a.s.cfg.ReadyTimeout)
	for {
		if a.s.probe.healthy(r.sb.Address(), healthPath, h2c) {
			a.mu.Lock()
			if !r.stopping {
				r.state = StateReady
				r.readyAt = a.s.cfg.Now()
				a.crashes = 0
				a.say("replica %s passed its health check", r.hostname)
				a.updateBackends()
				a.notify()
			}
			a.mu.Unlock()
			return
		}
		select {
		case <-r.sb.Done():
			return
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			a.mu.Lock()
			r.stopping, r.failed = true, true
			a.logs.WriteLine(r.hostname, []byte(fmt.Sprintf("fnrun: no answer on %s within %s; stopping", r.sb.Address(), a.s.cfg.ReadyTimeout)))
			a.mu.Unlock()
			_ = r.sb.Stop(a.s.cfg.StopGrace)
			return
		}
	}
}

// drainAndStop takes r out of the router, waits for its requests, then stops it; the caller holds a.mu.
func (a *appRun) drainAndStop(r *replica) {
	if r.stopping {
		return
	}
	r.stopping = true
	r.state = StateDraining
	a.updateBackends()
	a.notify()
	if r.sb == nil {
		return // the start goroutine stops it once the sandbox exists
	}
	go a.finishStop(r)
}

func (a *appRun) finishStop(r *replica) {
	grace := a.s.cfg.StopGrace
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	_ = a.s.cfg.Router.Drain(ctx, a.app.ID, r.hostname)
	cancel()
	if err := r.sb.Stop(grace); err != nil {
		a.s.cfg.Log.WithField("app", a.app.ID).WithField("replica", r.hostname).WithError(err).Error("stop replica")
	}
	a.mu.Lock()
	delete(a.replicas, r.hostname)
	a.notify()
	a.mu.Unlock()
}

// updateBackends hands the router the ready set; the caller holds a.mu.
func (a *appRun) updateBackends() {
	var ready []router.Backend
	for _, r := range a.replicas {
		if r.state == StateReady && !r.stopping && r.sb != nil {
			ready = append(ready, router.Backend{ID: r.hostname, Addr: r.sb.Address()})
		}
	}
	sort.Slice(ready, func(i, j int) bool { return ready[i].ID < ready[j].ID })
	a.s.cfg.Router.SetBackends(a.app.ID, ready)
}

// rollout switches the app to a new revision: new replicas start, old ones drain once the new serve.
func (a *appRun) rollout(app App) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.app = app
	as := app.Manifest.Autoscale
	a.desired = max(min(max(a.desired, as.Min), as.Max), as.Min)
	a.crashes = 0
	a.nextStart = time.Time{}
	a.s.cfg.Router.SetApp(app.ID, routeConfig(&app.Manifest))
	a.say("rolling out revision %s", RevisionName(app.Revision))
	a.notify()
	a.poke()
}

// waitReady waits for n ready replicas of the current revision.
func (a *appRun) waitReady(ctx context.Context, n int, progress func(string)) error {
	a.mu.Lock()
	seen := len(a.progress)
	a.mu.Unlock()
	for {
		a.mu.Lock()
		if progress != nil {
			if seen > len(a.progress) {
				seen = 0
			}
			for _, p := range a.progress[seen:] {
				progress(p)
			}
			seen = len(a.progress)
		}
		ready := 0
		for _, r := range a.replicas {
			if r.revision == a.app.Revision && r.state == StateReady && !r.stopping {
				ready++
			}
		}
		crashes := a.crashes
		ch := a.changed
		a.mu.Unlock()
		if ready >= n {
			return nil
		}
		if crashes >= crashLoopAfter {
			return fmt.Errorf("app %s: %w (%d crashes in a row)", a.app.ID, ErrCrashLoop, crashes)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("app %s: waiting for %d ready replicas: %w", a.app.ID, n, ctx.Err())
		case <-ch:
		}
	}
}

// shutdown stops the loop and every replica, draining them first.
func (a *appRun) shutdown(ctx context.Context) {
	close(a.quit)
	<-a.done
	a.mu.Lock()
	var rs []*replica
	for _, r := range a.replicas {
		if !r.stopping {
			rs = append(rs, r)
			r.stopping = true
			r.state = StateDraining
		}
	}
	a.updateBackends()
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range rs {
		if r.sb == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); a.finishStop(r) }()
	}
	wg.Wait()
	// Replicas still starting are stopped by their start goroutine; wait for them.
	for {
		a.mu.Lock()
		left := len(a.replicas)
		ch := a.changed
		a.mu.Unlock()
		if left == 0 {
			break
		}
		select {
		case <-ch:
		case <-ctx.Done():
			_ = a.logs.Close()
			return
		}
	}
	_ = a.logs.Close()
}

func (a *appRun) replicaStatus(r *replica) ReplicaStatus {
	rs := ReplicaStatus{
		Hostname:         r.hostname,
		Revision:         r.revision,
		State:            r.state,
		CPUPercent:       r.cpu,
		MemoryBytes:      r.memBytes,
		MemoryPercent:    r.mem,
		ThrottledSeconds: r.throttled,
		Restarts:         r.restarts,
		StartedAt:        r.startedAt,
	}
	if r.sb != nil {
		rs.PID, rs.Cgroup, rs.Address = r.sb.PID(), r.sb.Cgroup(), r.sb.Address()
	}
	return rs
}

func (a *appRun) status() AppStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := AppStatus{
		App:       a.app,
		Desired:   a.desired,
		Restarts:  a.restarts,
		Exited:    append([]ReplicaStatus(nil), a.exited...),
		Decisions: append([]Decision(nil), a.decisions...),
		RPS:       a.rps,
		InFlight:  a.inflight,
	}
	for _, r := range a.replicas {
		st.Replicas = append(st.Replicas, a.replicaStatus(r))
		if r.state == StateReady && !r.stopping && r.revision == a.app.Revision {
			st.Ready++
		}
	}
	sort.Slice(st.Replicas, func(i, j int) bool { return st.Replicas[i].StartedAt.Before(st.Replicas[j].StartedAt) })
	switch {
	case a.crashes >= crashLoopAfter && st.Ready == 0:
		st.Phase = PhaseCrashLoop
	case st.Ready > 0:
		st.Phase = PhaseServing
	case a.desired == 0:
		st.Phase = PhaseScaledToZero
	default:
		st.Phase = PhaseDeploying
	}
	if !a.last.Time.IsZero() && !a.last.Changed() {
		st.Decisions = append(st.Decisions, a.last)
	}
	return st
}
