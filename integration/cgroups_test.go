package integration

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// v1Controllers are the hierarchies fnrun uses on hybrid and v1 hosts.
var v1Controllers = []string{"cpu", "cpuacct", "memory", "pids", "freezer"}

// cgroupMode tells which cgroup version fnrun uses on this host: "v2" on a unified host,
// "v1" when cgroup2 has no controllers (hybrid) or is absent.
func cgroupMode() string {
	b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
	if err == nil && strings.Contains(string(b), "cpu") {
		return "v2"
	}
	return "v1"
}

// cgroupDirs lists the directories of a fnrun cgroup root (absolute for v2, per hierarchy for v1).
func cgroupDirs(root string) []string {
	if cgroupMode() == "v2" {
		return []string{root}
	}
	var out []string
	for _, c := range v1Controllers {
		out = append(out, filepath.Join("/sys/fs/cgroup", c, root))
	}
	return out
}

// cgroupLeftovers lists cgroups below a root (the root itself may remain).
func cgroupLeftovers(root string) []string {
	var left []string
	for _, d := range cgroupDirs(root) {
		_ = filepath.Walk(d, func(p string, info os.FileInfo, err error) error {
			if err == nil && info.IsDir() && p != d {
				left = append(left, p)
			}
			return nil
		})
	}
	return left
}

// removeCgroupTree removes a test's cgroup root (empty cgroups only).
func removeCgroupTree(root string) {
	for _, d := range cgroupDirs(root) {
		var dirs []string
		_ = filepath.Walk(d, func(p string, info os.FileInfo, err error) error {
			if err == nil && info.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			_ = os.Remove(dirs[i])
		}
	}
}

// cpuFile returns the path of a cgroup file of a replica given the cgroup reported by status
// (v2: the leaf; v1: the cpu hierarchy's leaf).
func cpuFile(cg, controller, file string) string {
	if cgroupMode() == "v2" {
		return filepath.Join(cg, file)
	}
	return filepath.Join(strings.Replace(cg, "/sys/fs/cgroup/cpu/", "/sys/fs/cgroup/"+controller+"/", 1), file)
}

// quotaCores reads a replica's CPU quota in cores.
func quotaCores(t *testing.T, cg string) float64 {
	t.Helper()
	if cgroupMode() == "v2" {
		b, err := os.ReadFile(filepath.Join(cg, "cpu.max"))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b))
		q, _ := strconv.ParseFloat(f[0], 64)
		p, _ := strconv.ParseFloat(f[1], 64)
		return q / p
	}
	q := readNumber(t, cpuFile(cg, "cpu", "cpu.cfs_quota_us"))
	p := readNumber(t, cpuFile(cg, "cpu", "cpu.cfs_period_us"))
	return q / p
}

// usageSeconds reads a replica's cumulative CPU time.
func usageSeconds(t *testing.T, cg string) float64 {
	t.Helper()
	if cgroupMode() == "v2" {
		f, err := os.Open(filepath.Join(cg, "cpu.stat"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var k string
			var v float64
			if n, _ := fmt.Sscan(sc.Text(), &k, &v); n == 2 && k == "usage_usec" {
				return v / 1e6
			}
		}
		t.Fatal("no usage_usec in cpu.stat")
	}
	return readNumber(t, cpuFile(cg, "cpuacct", "cpuacct.usage")) / 1e9
}

func readNumber(t *testing.T, p string) float64 {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return v
}

// measureCores runs load for d while sampling the replica's CPU time; it returns the cores used.
func measureCores(t *testing.T, cg string, d time.Duration, start func()) float64 {
	t.Helper()
	start()
	time.Sleep(300 * time.Millisecond) // let the load reach steady state
	u0, t0 := usageSeconds(t, cg), time.Now()
	time.Sleep(d)
	u1, t1 := usageSeconds(t, cg), time.Now()
	return (u1 - u0) / t1.Sub(t0).Seconds()
}

// TestEveryThreadInItsCgroup: every thread of every process of a replica (its init included)
// runs in the replica's cgroup, so all of the replica's CPU time and memory are charged to it.
func TestEveryThreadInItsCgroup(t *testing.T) {
	d := startDaemon(t)
	app := d.deploy(spinApp(t, "instance: C1\nautoscale: {min: 1, max: 1}\ncommand: [./spinserver]\n"))
	cg := app.Replicas[0].Cgroup
	want := strings.TrimPrefix(cg, "/sys/fs/cgroup") // v2: the leaf under the unified mount
	controller := ""                                 // the /proc/PID/cgroup line to compare ("" on v2)
	if cgroupMode() != "v2" {
		want, controller = strings.TrimPrefix(cg, "/sys/fs/cgroup/cpu"), "cpu"
	}
	procs, err := os.ReadFile(cpuFile(cg, "cpu", "cgroup.procs"))
	if err != nil {
		t.Fatal(err)
	}
	pids := strings.Fields(string(procs))
	if len(pids) < 2 {
		t.Fatalf("cgroup.procs of %s lists %v: want the init and the app", cg, pids)
	}
	threads := 0
	for _, pid := range pids {
		tasks, err := os.ReadDir(filepath.Join("/proc", pid, "task"))
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			b, err := os.ReadFile(filepath.Join("/proc", pid, "task", task.Name(), "cgroup"))
			if err != nil {
				t.Fatal(err)
			}
			got := "(none)"
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				parts := strings.SplitN(line, ":", 3)
				if len(parts) != 3 {
					continue
				}
				v2line := controller == "" && parts[0] == "0" && parts[1] == ""
				if v2line || (controller != "" && slices.Contains(strings.Split(parts[1], ","), controller)) {
					got = parts[2]
				}
			}
			if got != want {
				t.Errorf("pid %s thread %s runs in %s, want the replica's %s", pid, task.Name(), got, want)
			}
			threads++
		}
	}
	t.Logf("%d processes, %d threads, all in %s", len(pids), threads, want)
}
