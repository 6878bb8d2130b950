//go:build bench

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fnrun/fnrun/scheduler"
)

// densityStep is what was measured with n idle replicas.
type densityStep struct {
	n            int
	startSecs    float64 // wall time to deploy this step's apps (all replicas ready)
	rssKB        int64   // daemon VmRSS
	perReplicaKB float64 // (rssKB − empty daemon's) / n
	hostKB       float64 // memory of the replicas' cgroups (init + server) per replica
	cpuPct       float64 // daemon CPU while idle, percent of one core
	tickMs       float64 // daemon CPU per tick period (all app loops together)
	sampleMs     float64 // the daemon's per-tick counter reading of the n replicas, repeated from outside
	decideMs     float64 // scheduler.Decide on one app of n replicas with a full history
	threads      int     // threads on the host
	availKB      int64   // MemAvailable after the step
}

// TestBenchDensity starts FNRUN_BENCH_DENSITY ("100 500 1000") idle C1 replicas of a static Go
// server, in apps of FNRUN_BENCH_DENSITY_APP (100) replicas each, and measures the daemon's
// memory per replica, its CPU while idle and per tick. A step that would not fit in memory,
// threads or the time budget FNRUN_BENCH_DENSITY_BUDGET (480 s) is skipped with the reason.
func TestBenchDensity(t *testing.T) {
	tick := 250 * time.Millisecond
	d := startBenchDaemon(t, "--overcommit", "1000", "--subnet", "10.237.0.0/20", "--tick", tick.String())
	perApp := envInt("FNRUN_BENCH_DENSITY_APP", 100)
	budget := time.Duration(envInt("FNRUN_BENCH_DENSITY_BUDGET", 480)) * time.Second
	var steps []int
	for _, f := range strings.Fields(envString("FNRUN_BENCH_DENSITY", "100 500 1000")) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || n%perApp != 0 {
			t.Fatalf("FNRUN_BENCH_DENSITY step %q: want a positive multiple of %d", f, perApp)
		}
		steps = append(steps, n)
	}
	began := time.Now()
	pid := d.cmd.Process.Pid
	time.Sleep(3 * time.Second)
	rss0 := procStatusKB(pid, "VmRSS")
	cpu0, tick0 := idleCPU(t, pid, 10*time.Second, tick)
	threads0 := hostThreads()
	server := filepath.Join(t.TempDir(), "spinserver")
	if data, err := os.ReadFile(bins.spinserver); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(server, data, 0o755); err != nil {
		t.Fatal(err)
	}

	var done []densityStep
	var skipped []string
	var apps []string
	total := 0
	var startTime time.Duration
	for _, n := range steps {
		if len(done) > 0 {
			last := done[len(done)-1]
			extra := n - total
			needKB := int64((last.hostKB+last.perReplicaKB)*float64(extra)*1.2) + 2<<20
			avail := memInfoKB("MemAvailable")
			perThread := float64(last.threads-threads0) / float64(total)
			pidMax := readIntFile("/proc/sys/kernel/pid_max")
			eta := time.Duration(float64(startTime) / float64(total) * float64(extra) * 1.3)
			switch {
			case avail < needKB:
				skipped = append(skipped, fmt.Sprintf("%d replicas: skipped, %d more would need about %.1f GiB (measured %.0f KB per replica + 20%% + 2 GiB margin), only %.1f GiB available", n, extra, float64(needKB)/(1<<20), last.hostKB+last.perReplicaKB, float64(avail)/(1<<20)))
				continue
			case pidMax > 0 && float64(last.threads)+perThread*float64(extra) > 0.9*float64(pidMax):
				skipped = append(skipped, fmt.Sprintf("%d replicas: skipped, %.0f threads per replica would reach %.0f of kernel.pid_max %d", n, perThread, float64(last.threads)+perThread*float64(extra), pidMax))
				continue
			case time.Since(began)+eta > budget:
				skipped = append(skipped, fmt.Sprintf("%d replicas: skipped, starting %d more would take about %s (at the measured rate) and pass the %s time budget", n, extra, eta.Round(time.Second), budget))
				continue
			}
		}
		t0 := time.Now()
		for total < n {
			dir := filepath.Join(t.TempDir(), "app")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			manifest := fmt.Sprintf("instance: C1\nautoscale: {min: %d, max: %d}\ncommand: [./spinserver]\n", perApp, perApp)
			if err := os.WriteFile(filepath.Join(dir, "fnrun.yml"), []byte(manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			if data, err := os.ReadFile(server); err != nil {
				t.Fatal(err)
			} else if err := os.WriteFile(filepath.Join(dir, "spinserver"), data, 0o755); err != nil {
				t.Fatal(err)
			}
			app := d.deploy(dir, "--name", fmt.Sprintf("dens-%d", len(apps)+1))
			apps = append(apps, app.ID)
			checkBridge(t, d)
			total += perApp
			t.Logf("density: %d replicas ready after %s", total, time.Since(t0).Round(time.Millisecond))
		}
		startTime += time.Since(t0)
		time.Sleep(5 * time.Second) // let the starts' work settle
		st := densityStep{n: n, startSecs: time.Since(t0).Seconds() - 5}
		st.rssKB = procStatusKB(pid, "VmRSS")
		st.perReplicaKB = float64(st.rssKB-rss0) / float64(n)
		st.hostKB = float64(cgroupMemoryBytes(t, d.cgroup)) / 1024 / float64(n)
		st.cpuPct, st.tickMs = idleCPU(t, pid, 10*time.Second, tick)
		st.sampleMs = sampleCost(t, d.cgroup)
		st.decideMs = decideCost(n, tick)
		st.threads = hostThreads()
		st.availKB = memInfoKB("MemAvailable")
		ready := 0
		for _, a := range d.list() {
			ready += a.Ready
		}
		if ready != n {
			t.Errorf("density %d: %d replicas ready", n, ready)
		}
		t.Logf("density step: %+v", st)
		done = append(done, st)
	}
	writeSection(t, "density", densityTable(perApp, tick, rss0, cpu0, tick0, done, skipped))
	for _, id := range apps {
		d.mustFnrun("", "remove", id)
	}
}

// idleCPU measures a process's CPU over d: percent of one core, and ms per tick period.
func idleCPU(t *testing.T, pid int, d, tick time.Duration) (pct, perTickMs float64) {
	t.Helper()
	c0, err := procCPUSeconds(pid)
	if err != nil {
		t.Fatal(err)
	}
	w0 := time.Now()
	time.Sleep(d)
	c1, err := procCPUSeconds(pid)
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Since(w0)
	cpu := c1 - c0
	return cpu / wall.Seconds() * 100, cpu * 1000 / (wall.Seconds() / tick.Seconds())
}

// cgroupMemoryBytes is the memory charged to a daemon's whole cgroup root (all replicas).
func cgroupMemoryBytes(t *testing.T, root string) int64 {
	t.Helper()
	p := filepath.Join("/sys/fs/cgroup/memory", root, "memory.usage_in_bytes")
	if cgroupMode() == "v2" {
		p = filepath.Join(root, "memory.current")
	}
	return int64(readNumber(t, p))
}

// sampleCost times, from outside, the per-tick reading the daemon takes of every replica
// (sandbox.Sandbox.Usage): one pread at offset 0 of each counter file it keeps open (v1:
// cpuacct.usage, memory.usage_in_bytes and cpu.stat; v2: cpu.stat and memory.current). That is
// the upper bound: while a replica's CPU usage stands still the daemon reads only the CPU file,
// and memory every 4th tick. The files are opened once before the timing, as the daemon opens
// them once per replica; median of 5.
func sampleCost(t *testing.T, root string) float64 {
	t.Helper()
	var files []string
	if cgroupMode() == "v2" {
		for _, l := range leafDirs(root) {
			files = append(files, filepath.Join(l, "cpu.stat"), filepath.Join(l, "memory.current"))
		}
	} else {
		ctrl := func(c string) string { return filepath.Join("/sys/fs/cgroup", c, root) }
		for _, l := range leafDirs(ctrl("cpu")) {
			rel := strings.TrimPrefix(l, ctrl("cpu"))
			files = append(files,
				filepath.Join(ctrl("cpuacct"), rel, "cpuacct.usage"),
				filepath.Join(ctrl("memory"), rel, "memory.usage_in_bytes"),
				filepath.Join(l, "cpu.stat"))
		}
	}
	fds := make([]int, 0, len(files))
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, f := range files {
		fd, err := unix.Open(f, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Errorf("open %s: %v", f, err)
			return 0
		}
		fds = append(fds, fd)
	}
	var buf [1024]byte
	var xs []float64
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		for j, fd := range fds {
			if _, err := unix.Pread(fd, buf[:], 0); err != nil {
				t.Errorf("read %s: %v", files[j], err)
				return 0
			}
		}
		xs = append(xs, float64(time.Since(t0).Microseconds())/1000)
	}
	return median(xs)
}

// leafDirs lists the replica cgroups (depth 2: <app>/<hostname>) below root.
func leafDirs(root string) []string {
	ds, _ := filepath.Glob(filepath.Join(root, "*", "*"))
	var out []string
	for _, d := range ds {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// decideCost benchmarks scheduler.Decide on one app of n ready replicas with the history a
// loop keeps (30 s scale-down window + 2 ticks), in milliseconds per call.
func decideCost(n int, tick time.Duration) float64 {
	now := time.Now()
	keep := int((30*time.Second)/tick) + 2
	hist := make([]scheduler.Snapshot, keep)
	for i := range hist {
		reps := make([]scheduler.ReplicaSample, n)
		for j := range reps {
			reps[j] = scheduler.ReplicaSample{Name: fmt.Sprintf("r-%d", j), Ready: true, CPU: 1 + float64(j%7), Memory: 3}
		}
		hist[i] = scheduler.Snapshot{Time: now.Add(-time.Duration(keep-1-i) * tick), Replicas: reps}
	}
	spec := scheduler.ScaleSpec{Metric: "cpu", Target: 40, Min: n, Max: n, Instance: "C1"}
	res := testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			scheduler.Decide(now, n, hist, spec)
		}
	})
	return float64(res.NsPerOp()) / 1e6
}

// hostThreads is the number of threads on the host (the denominator of /proc/loadavg's 4th field).
func hostThreads() int {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 4 {
		return 0
	}
	_, tot, _ := strings.Cut(f[3], "/")
	n, _ := strconv.Atoi(tot)
	return n
}

func readIntFile(p string) int {
	b, _ := os.ReadFile(p)
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func densityTable(perApp int, tick time.Duration, rss0 int64, cpu0, tick0 float64, steps []densityStep, skipped []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Density: idle replicas per host\n\n")
	fmt.Fprintf(&b, "Machine: %s.\n\n", machine())
	b.WriteString("Command: `go test -tags bench -run '^TestBenchDensity$' ./integration/` (via `make bench-density`; steps in `FNRUN_BENCH_DENSITY`).\n")
	fmt.Fprintf(&b, "A real fnrund (`--overcommit 1000 --tick %s`, bridge networking) runs idle C1 replicas of `spinserver` (a Go HTTP server), in apps of `autoscale: {min: %d, max: %d}`. Daemon memory per replica is the growth of fnrund's VmRSS over the empty daemon's (%.1f MiB), divided by the replicas. Daemon CPU is user+system time from /proc/PID/stat over 10 s idle; \"per tick\" divides it by the %s tick periods in those 10 s (every app's loop together). \"Read counters\" repeats, from outside the daemon, the reading it takes of every replica each tick: one pread at offset 0 of each counter file it keeps open (v1: cpuacct.usage, memory.usage_in_bytes and cpu.stat; v2: cpu.stat and memory.current), opened once before the timing. That is the daemon's busiest case: while a replica's CPU usage stands still it reads only the CPU file, and memory every 4th tick. \"Decide\" is `scheduler.Decide` benchmarked on one app holding all replicas with a full 30 s history. The empty daemon used %.2f %% of a core (%.3f ms per tick period).\n\n",
		tick, perApp, perApp, float64(rss0)/1024, tick, cpu0, tick0)
	b.WriteString("| replicas | start s | daemon RSS MiB | daemon KB / replica | replica cgroup MiB / replica (init + server) | daemon CPU idle % | daemon CPU ms / tick | read counters ms | Decide ms | MemAvailable GiB after |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range steps {
		fmt.Fprintf(&b, "| %d | %.1f | %.1f | %.0f | %.1f | %.2f | %.2f | %.2f | %.3f | %.1f |\n",
			s.n, s.startSecs, float64(s.rssKB)/1024, s.perReplicaKB, s.hostKB/1024, s.cpuPct, s.tickMs, s.sampleMs, s.decideMs, float64(s.availKB)/(1<<20))
	}
	for _, s := range skipped {
		fmt.Fprintf(&b, "\n- %s\n", s)
	}
	if len(steps) > 0 {
		last := steps[len(steps)-1]
		mem, tk := "met", "met"
		if last.perReplicaKB > 200 {
			mem = "NOT met"
		}
		if last.tickMs > 10 {
			tk = "NOT met"
		}
		target := "1000 replicas"
		if last.n < 1000 {
			target = fmt.Sprintf("1000 replicas NOT measured (largest step run: %d)", last.n)
		}
		fmt.Fprintf(&b, "\nGoals: %s; tick ≤ 10 ms at %d: %s (%.2f ms); ≤ 200 KB daemon memory per replica at %d: %s (%.0f KB). Anchor: Kubernetes defaults to at most 110 pods per node (kubelet `--max-pods`).\n",
			target, last.n, tk, last.tickMs, last.n, mem, last.perReplicaKB)
	}
	return b.String()
}
