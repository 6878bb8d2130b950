package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var replicaSeq int

// replica returns a Replica of instance type inst running argv.
func replica(t *testing.T, inst string, argv ...string) Replica {
	t.Helper()
	replicaSeq++
	return Replica{
		App:      "testapp",
		Revision: "00001",
		Hostname: fmt.Sprintf("testapp-00001-r%d", replicaSeq),
		Args:     argv,
		Dir:      "/",
		Instance: mustInstance(t, inst),
	}
}

func start(t *testing.T, m *Manager, r Replica) *Sandbox {
	t.Helper()
	s, err := m.Start(context.Background(), r)
	if err != nil {
		t.Fatalf("start %s: %v", r.Hostname, err)
	}
	t.Cleanup(func() { _ = s.Stop(time.Second) })
	return s
}

func waitDone(t *testing.T, s *Sandbox, d time.Duration) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(d):
		t.Fatalf("replica %s still running after %s", s.Hostname(), d)
	}
}

// alive reports whether pid exists and is not a zombie waiting for its reaper.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// idleCores returns the host's idle CPU time in jiffies from /proc/stat.
func idleJiffies(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
	var idle uint64
	fmt.Sscan(f[4], &idle)
	return idle
}

func TestStartAppliesLimits(t *testing.T) {
	m := newTestManager(t)
	s := start(t, m, replica(t, "C3", "sleep", "60"))
	if m.Mode() == ModeV2 {
		if got := readTrim(t, filepath.Join(s.Cgroup(), "cpu.max")); got != "100000 100000" {
			t.Errorf("cpu.max = %q", got)
		}
		if got := readTrim(t, filepath.Join(s.Cgroup(), "memory.max")); got != "2147483648" {
			t.Errorf("memory.max = %q", got)
		}
	} else {
		if got := readTrim(t, filepath.Join(s.Cgroup(), "cpu.cfs_quota_us")); got != "100000" {
			t.Errorf("cpu.cfs_quota_us = %q", got)
		}
		if got := readTrim(t, filepath.Join(s.Cgroup(), "cpu.cfs_period_us")); got != "100000" {
			t.Errorf("cpu.cfs_period_us = %q", got)
		}
		v1 := m.drv.(v1Driver)
		if got := readTrim(t, filepath.Join(v1.ctrlDir("memory", s.rel), "memory.limit_in_bytes")); got != "2147483648" {
			t.Errorf("memory.limit_in_bytes = %q", got)
		}
	}
	// The init and the app are in the leaf in every hierarchy.
	app := appPID(t, s)
	for _, dir := range m.drv.dirs(s.rel) {
		pids, err := readProcs(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			t.Fatal(err)
		}
		if len(pids) != 2 || !contains(pids, s.PID()) || !contains(pids, app) {
			t.Errorf("%s/cgroup.procs = %v, want init %d and app %d", dir, pids, s.PID(), app)
		}
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.PidsMax != 512 || st.PidsCurrent < 2 || st.MemoryMax != 2<<30 || st.MemoryCurrent == 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCPUQuotaHolds(t *testing.T) {
	for _, tc := range []struct {
		inst  string
		cores float64
	}{{"C1", 0.1}, {"C2", 0.5}} {
		t.Run(tc.inst, func(t *testing.T) {
			m := newTestManager(t)
			s := start(t, m, replica(t, tc.inst, "/bin/sh", "-c", "while :; do :; done"))
			time.Sleep(slow(500 * time.Millisecond)) // past start-up
			before, err := s.Stats()
			if err != nil {
				t.Fatal(err)
			}
			// An emulated guest counts time its vCPU was descheduled on the host
			// as the replica's runtime: the overrun is paid back in the next
			// periods, so a longer window there averages it out.
			idle0, t0 := idleJiffies(t), time.Now()
			time.Sleep(slow(4 * time.Second))
			after, err := s.Stats()
			if err != nil {
				t.Fatal(err)
			}
			elapsed := time.Since(t0)
			// USER_HZ jiffies → cores idle on average, besides the replica.
			idle := float64(idleJiffies(t)-idle0) / userHZ / elapsed.Seconds()
			used := float64(after.CPUUsageUsec-before.CPUUsageUsec) / float64(elapsed.Microseconds())
			t.Logf("%s used %.3f cores (throttled %d of %d periods; host idle %.2f cores)",
				tc.inst, used, after.NrThrottled-before.NrThrottled, after.NrPeriods-before.NrPeriods, idle)
			if used > tc.cores*1.05 {
				t.Errorf("%s used %.3f cores, above its quota %.2f +5%%", tc.inst, used, tc.cores)
			}
			if after.NrThrottled == before.NrThrottled {
				t.Error("spinning replica never throttled")
			}
			if used < tc.cores*0.95 {
				// A spinning replica that gets its quota is throttled in every
				// period; periods without throttling mean other work took the CPU.
				periods, throttled := after.NrPeriods-before.NrPeriods, after.NrThrottled-before.NrThrottled
				if idle < 0.2 || float64(throttled) < 0.9*float64(periods) {
					t.Skipf("host CPU contended by other work (%.2f idle cores, throttled in only %d of %d periods): got %.3f of %.2f cores, lower bound not measurable",
						idle, throttled, periods, used, tc.cores)
				}
				t.Errorf("%s used %.3f cores, want %.2f ±5%%", tc.inst, used, tc.cores)
			}
		})
	}
}

func TestHostnameIsTheReplicas(t *testing.T) {
	m := newTestManager(t)
	var out bytes.Buffer
	r := replica(t, "C1", "hostname")
	r.Stdout = &out
	s := start(t, m, r)
	waitDone(t, s, slow(5*time.Second))
	host, _ := os.Hostname()
	got := strings.TrimSpace(out.String())
	if got != r.Hostname || got == host {
		t.Errorf("hostname in sandbox = %q, want %q (host is %q)", got, r.Hostname, host)
	}
	if s.Exit().Code != 0 {
		t.Errorf("exit = %+v", s.Exit())
	}
}

func TestEnvironmentAndPort(t *testing.T) {
	m := newTestManager(t)
	var out bytes.Buffer
	r := replica(t, "C1", "/bin/sh", "-c", `echo "$PORT $K_SERVICE $K_REVISION $FOO $1"; pwd`, "sh", "$PORT")
	r.Env = map[string]string{"FOO": "bar"}
	r.Dir = "/tmp"
	r.Stdout = &out
	s := start(t, m, r)
	waitDone(t, s, slow(5*time.Second))
	_, port, err := net.SplitHostPort(s.Address())
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%s testapp testapp-00001 bar %s\n/tmp\n", port, port)
	if out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
}

func TestCrashReportsExitCode(t *testing.T) {
	m := newTestManager(t)
	s := start(t, m, replica(t, "C1", "/bin/sh", "-c", "exit 3"))
	waitDone(t, s, slow(5*time.Second))
	if got := s.Exit(); got.Code != 3 || got.Signal != "" || got.OOMKilled {
		t.Errorf("exit = %+v, want code 3", got)
	}
	if err := s.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
	assertNoLeftovers(t, m)
}

func TestStartFailsOnMissingCommand(t *testing.T) {
	m := newTestManager(t)
	_, err := m.Start(context.Background(), replica(t, "C1", "no-such-command-fnrun"))
	if err == nil || !strings.Contains(err.Error(), "no-such-command-fnrun") {
		t.Fatalf("Start error = %v, want one naming the command", err)
	}
	assertNoLeftovers(t, m)
}

func TestStopKillsEverything(t *testing.T) {
	m := newTestManager(t)
	// The shell ignores SIGTERM and has children: only the cgroup kill ends them.
	s := start(t, m, replica(t, "C1", "/bin/sh", "-c", `trap "" TERM; sleep 1000 & sleep 1000 & wait; wait`))
	var pids []int
	deadline := time.Now().Add(slow(5 * time.Second))
	for len(pids) < 3 && time.Now().Before(deadline) {
		var err error
		if pids, err = m.drv.procs(s.rel); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(pids) < 3 {
		t.Fatalf("cgroup pids = %v, want the shell and two sleeps", pids)
	}
	dirs := m.drv.dirs(s.rel)
	t0 := time.Now()
	if err := s.Stop(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el < 300*time.Millisecond {
		t.Errorf("Stop returned after %s, before the grace period", el)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d still alive after Stop", pid)
		}
	}
	for _, d := range dirs {
		if exists(d) {
			t.Errorf("cgroup %s still exists after Stop", d)
		}
	}
	if got := s.Exit(); got.Signal != "SIGKILL" {
		t.Errorf("exit = %+v, want SIGKILL", got)
	}
	if err := s.Stop(time.Second); err != nil {
		t.Errorf("second Stop = %v, want the first result (nil)", err)
	}
	assertNoLeftovers(t, m)
}

func TestStopGracefulOnTerm(t *testing.T) {
	m := newTestManager(t)
	s := start(t, m, replica(t, "C1", "sleep", "1000"))
	t0 := time.Now()
	if err := s.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el > slow(5*time.Second) {
		t.Errorf("Stop of a SIGTERM-obeying replica took %s", el)
	}
	if got := s.Exit(); got.Signal != "SIGTERM" {
		t.Errorf("exit = %+v, want SIGTERM", got)
	}
	assertNoLeftovers(t, m)
}

func TestCleanupRemovesLeftovers(t *testing.T) {
	m := newTestManager(t)
	s1 := start(t, m, replica(t, "C1", "sleep", "1000"))
	s2 := start(t, m, replica(t, "C1", "/bin/sh", "-c", "sleep 1000 & wait"))
	left, err := m.Leftovers()
	if err != nil {
		t.Fatal(err)
	}
	if len(left) == 0 {
		t.Fatal("Leftovers found nothing while two replicas run")
	}
	// A second Manager on the same root stands for the next daemon.
	m2, err := New(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Cleanup(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Sandbox{s1, s2} {
		waitDone(t, s, slow(5*time.Second))
		if alive(s.PID()) {
			t.Errorf("pid %d alive after Cleanup", s.PID())
		}
	}
	assertNoLeftovers(t, m)
}

func assertNoLeftovers(t *testing.T, m *Manager) {
	t.Helper()
	left, err := m.Leftovers()
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("leftover cgroups: %v", left)
	}
}

func TestStartCanceled(t *testing.T) {
	m := newTestManager(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.Start(ctx, replica(t, "C1", "sleep", "1"))
	if !errors.Is(err, ErrStartCanceled) {
		t.Errorf("Start with canceled ctx = %v, want ErrStartCanceled", err)
	}
	assertNoLeftovers(t, m)
}

func contains(pids []int, pid int) bool {
	for _, p := range pids {
		if p == pid {
			return true
		}
	}
	return false
}

// appPID returns the host pid of the app the init of s forked (a child of
// any of the init's threads).
func appPID(t *testing.T, s *Sandbox) int {
	t.Helper()
	deadline := time.Now().Add(slow(5 * time.Second))
	for {
		tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", s.PID()))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			var pid int
			if _, err := fmt.Sscan(string(b), &pid); err == nil {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("init %d has no child", s.PID())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
