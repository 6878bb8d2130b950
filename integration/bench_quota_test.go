//go:build bench

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fnrun/fnrun/runtime"
)

// TestBenchQuota measures the cores a busy replica really gets (spinserver
// /spin?seconds=5&threads=4, CPU time read from its cgroup) against its instance's quota, for
// C1, C2 and C3, FNRUN_BENCH_QUOTA_RUNS (3) times each.
func TestBenchQuota(t *testing.T) {
	d := startBenchDaemon(t)
	runs := envInt("FNRUN_BENCH_QUOTA_RUNS", 3)
	window := 3 * time.Second
	var b strings.Builder
	fmt.Fprintf(&b, "## Quota accuracy: cores a busy replica gets\n\n")
	fmt.Fprintf(&b, "Machine: %s.\n\n", machine())
	fmt.Fprintf(&b, "Command: `FNRUN_BENCH_QUOTA_RUNS=%d go test -tags bench -run '^TestBenchQuota$' ./integration/` (via `make bench-quota`).\n", runs)
	fmt.Fprintf(&b, "A real fnrund runs `spinserver` (instance as below, `autoscale: {min: 1, max: 1}`, `command: [./spinserver]`; pinned to one replica, or the busy replica would scale the app out and the next request could go elsewhere); `GET /spin?seconds=5&threads=4` keeps 4 goroutines busy; the replica's CPU time is read from its cgroup (`cpuacct.usage` on v1, `cpu.stat` usage_usec on v2) over %s starting 0.3 s after its CPU time first moves. %d runs per instance.\n\n", window, runs)
	b.WriteString("| instance | quota (cores) | runs measured | measured min | median | max | median / quota | requests not reaching the replica within 15 s |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	lateTotal := 0
	for _, name := range []string{"C1", "C2", "C3"} {
		inst, err := runtime.LookupInstance(name)
		if err != nil {
			t.Fatal(err)
		}
		// One replica, pinned: a busy replica would otherwise scale the app out, and the next
		// spin request could go to the new replica instead of the one measured.
		app := d.deploy(spinApp(t, "instance: "+name+"\nautoscale: {min: 1, max: 1}\ncommand: [./spinserver]\n"), "--name", "quota-"+strings.ToLower(name))
		checkBridge(t, d)
		st := d.status(app.ID)
		if len(st.Replicas) != 1 {
			t.Fatalf("%s: %d replicas, want 1", name, len(st.Replicas))
		}
		cg := st.Replicas[0].Cgroup
		if q := quotaCores(t, cg); q < inst.Cores()-1e-9 || q > inst.Cores()+1e-9 {
			t.Errorf("%s: cgroup quota %.3f cores, catalog says %.3f", name, q, inst.Cores())
		}
		var cores []float64
		late := 0
		for i := 0; i < runs; i++ {
			done := make(chan error, 1)
			sent := time.Now()
			go func() {
				code, body, err := d.get(app.ID, "/spin?seconds=5&threads=4")
				if err == nil && code != 200 {
					err = fmt.Errorf("status %d: %s", code, body)
				}
				done <- err
			}()
			// The window opens once the replica is busy (its CPU time moves), then 0.3 s later.
			u0 := usageSeconds(t, cg)
			for time.Since(sent) < 15*time.Second && usageSeconds(t, cg)-u0 < 0.005 {
				time.Sleep(20 * time.Millisecond)
			}
			busy := time.Since(sent)
			if usageSeconds(t, cg)-u0 < 0.005 {
				err := <-done
				t.Logf("%s run %d: the replica was not busy within 15s of the request; the request ended after %s (err %v)", name, i+1, time.Since(sent).Round(time.Millisecond), err)
				late++
				continue
			}
			c := measureCores(t, cg, window, func() {})
			err := <-done
			t.Logf("%s run %d: busy %s after the request, %.3f cores, request took %s", name, i+1, busy.Round(time.Millisecond), c, time.Since(sent).Round(time.Millisecond))
			if err != nil {
				t.Errorf("%s run %d: spin request: %v", name, i+1, err)
			}
			cores = append(cores, c)
		}
		s := summarize(cores)
		fmt.Fprintf(&b, "| %s | %.2f | %d | %.3f | %.3f | %.3f | %.2f | %d |\n", name, inst.Cores(), s.N, s.Min, s.P50, s.Max, s.P50/inst.Cores(), late)
		if late > 0 {
			lateTotal += late
		}
		d.mustFnrun("", "remove", app.ID)
	}
	if lateTotal > 0 {
		fmt.Fprintf(&b, "\n%d spin request(s) ended (status 200, no error) without the replica's cgroup CPU time moving for 15 s; they are counted in the last column, not in the statistics. The test log has the details.\n", lateTotal)
	}
	b.WriteString("\nWhat users would pick instead enforces the same thing with the same kernel mechanism (CFS bandwidth control: `docker run --cpus`, Kubernetes `limits.cpu`), so the quota itself is the anchor: a ratio near 1.00 means the replica gets what its instance promises, no more and no less. On a loaded 2-core host a C3 replica (1 core) may get less than its quota when other work competes for the CPUs.\n")
	writeSection(t, "quota", b.String())
}
