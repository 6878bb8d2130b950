//go:build bench

package integration

// Shared helpers of the benchmarks (`make bench`, build tag bench): statistics, the machine's
// description, where results go and the record of what a benchmark created (so that
// integration/bench/run.sh can clean up after an interrupted run).

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchOut is the directory the benchmarks write their markdown sections to
// ($FNRUN_BENCH_OUT, default bin/bench).
func benchOut(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FNRUN_BENCH_OUT")
	if dir == "" {
		dir = filepath.Join(repoRoot, "bin", "bench")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeSection stores one benchmark's markdown section as <name>.md in benchOut.
func writeSection(t *testing.T, name, md string) {
	t.Helper()
	p := filepath.Join(benchOut(t), name+".md")
	if err := os.WriteFile(p, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s:\n%s", p, md)
}

var ownedMu sync.Mutex

// recordOwned appends "kind value" to benchOut/owned: the cgroup roots, bridges, runc
// containers and pids this run created, for run.sh's cleanup trap after an interrupt.
func recordOwned(t *testing.T, kind, value string) {
	t.Helper()
	ownedMu.Lock()
	defer ownedMu.Unlock()
	f, err := os.OpenFile(filepath.Join(benchOut(t), "owned"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s\n", kind, value)
}

// benchDaemonSeq numbers the benchmark's daemons.
var benchDaemonSeq int

// startBenchDaemon starts fnrund through the test harness and records what it owns. The
// harness names bridges fnit<n> per test process, which collides with other test processes
// running at the same time; the benchmark's daemons get a bridge named after this process and
// a subnet of their own instead (later flags in extra override them).
func startBenchDaemon(t *testing.T, extra ...string) *daemon {
	t.Helper()
	benchDaemonSeq++
	bridge := fmt.Sprintf("fnbd%d-%d", os.Getpid()%100000, benchDaemonSeq)
	subnet := fmt.Sprintf("10.238.%d.0/24", benchDaemonSeq%250)
	for i := 0; i+1 < len(extra); i++ {
		switch extra[i] {
		case "--bridge":
			bridge = extra[i+1]
		case "--subnet":
			subnet = extra[i+1]
		}
	}
	recordOwned(t, "bridge", bridge)
	d := startDaemon(t, append([]string{"--bridge", bridge, "--subnet", subnet}, extra...)...)
	// The harness's cleanup deletes d.bridge: make that ours, not fnit<n>.
	d.bridge, d.subnet = bridge, subnet
	recordOwned(t, "cgroup", d.cgroup)
	recordOwned(t, "pid", strconv.Itoa(d.cmd.Process.Pid))
	return d
}

// summary is min, median, p99 and max of a sample.
type summary struct {
	N                  int
	Min, P50, P99, Max float64
	Mean               float64
	values             []float64
}

// summarize computes a summary; percentiles are nearest-rank.
func summarize(xs []float64) summary {
	s := summary{N: len(xs)}
	if len(xs) == 0 {
		return s
	}
	v := append([]float64(nil), xs...)
	sort.Float64s(v)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p/100*float64(len(v)))) - 1
		return v[min(max(i, 0), len(v)-1)]
	}
	var sum float64
	for _, x := range v {
		sum += x
	}
	s.Min, s.P50, s.P99, s.Max, s.Mean, s.values = v[0], rank(50), rank(99), v[len(v)-1], sum/float64(len(v)), v
	return s
}

// median of xs (nearest-rank p50).
func median(xs []float64) float64 { return summarize(xs).P50 }

// machine describes the host in one line: cores, kernel, cgroup mode, memory, load, date.
func machine() string {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	load, _ := os.ReadFile("/proc/loadavg")
	mode := "cgroup v2 (unified)"
	if cgroupMode() == "v1" {
		mode = "cgroup v1"
		if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil && strings.Contains(string(b), " cgroup2 ") {
			mode = "hybrid cgroups (v1 controllers, cgroup2 without controllers)"
		}
	}
	lf := strings.Fields(string(load))
	if len(lf) > 3 {
		lf = lf[:3]
	}
	return fmt.Sprintf("%d CPUs (%s), Linux %s, %s, %.1f GiB RAM, load average %s at start, %s",
		runtime.NumCPU(), cpuModel(), strings.TrimSpace(string(kernel)), mode,
		float64(memInfoKB("MemTotal"))/(1<<20), strings.Join(lf, " "), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// memInfoKB reads one /proc/meminfo field in kB (0 if absent).
func memInfoKB(field string) int64 {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == field {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// procStatusKB reads a field of /proc/PID/status in kB (VmRSS, ...).
func procStatusKB(pid int, field string) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == field {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// procCPUSeconds is a process's user+system CPU time (all threads) from /proc/PID/stat.
func procCPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command (which may hold spaces) start after the last ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, nil // USER_HZ is 100 on Linux
}

// waitHTTP200 polls http://addr/ every interval until it answers 200; it returns when that
// happened, or an error at deadline. Every start in the cold-start table uses it alike.
func waitHTTP200(addr string, interval time.Duration, deadline time.Time) (time.Time, error) {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var last error
	for time.Now().Before(deadline) {
		resp, err := c.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
			last = fmt.Errorf("status %d", resp.StatusCode)
		} else {
			last = err
		}
		time.Sleep(interval)
	}
	return time.Time{}, fmt.Errorf("%s did not answer 200 in time: %v", addr, last)
}

// ms formats a duration in milliseconds with one decimal.
func ms(d float64) string { return strconv.FormatFloat(d, 'f', 1, 64) }

// envInt reads an integer knob from the environment.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// envString reads a string knob from the environment.
func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// checkBridge fails the benchmark when the daemon's bridge is gone (somebody deleted it): the
// replicas' addresses would then route off the host instead of to the replicas.
func checkBridge(t *testing.T, d *daemon) {
	t.Helper()
	if _, err := net.InterfaceByName(d.bridge); err != nil {
		t.Fatalf("bridge %s of the benchmark's daemon is gone (%v): refusing to send traffic that would leave the host", d.bridge, err)
	}
}
