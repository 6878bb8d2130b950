package integration

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCgroupModeReported(t *testing.T) {
	d := startDaemon(t)
	t.Logf("cgroup mode on this host: %s", cgroupMode())
	if !strings.Contains(d.logs(), "mode="+cgroupMode()) {
		t.Errorf("fnrund did not log cgroup mode %s at start:\n%s", cgroupMode(), d.logs())
	}
}

// TestCPUQuota: C3 gives one core; a C1 replica kept busy for 4 s uses 0.1 core ±10%.
func TestCPUQuota(t *testing.T) {
	d := startDaemon(t)
	c3 := d.deploy(spinApp(t, "instance: C3\nautoscale: {min: 1, max: 1}\ncommand: [./spinserver]\n"), "--name", "quota-c3")
	if got := quotaCores(t, c3.Replicas[0].Cgroup); got != 1.0 {
		t.Errorf("C3 quota = %v cores, want 1", got)
	}
	c1 := d.deploy(spinApp(t, "instance: C1\nautoscale: {min: 1, max: 1}\ncommand: [./spinserver]\n"), "--name", "quota-c1")
	cg := c1.Replicas[0].Cgroup
	if got := quotaCores(t, cg); math.Abs(got-0.1) > 1e-9 {
		t.Errorf("C1 quota = %v cores, want 0.1", got)
	}
	done := make(chan error, 1)
	cores := measureCores(t, cg, 4*time.Second, func() {
		go func() {
			_, _, err := d.get(c1.ID, "/spin?seconds=5&threads=2")
			done <- err
		}()
	})
	t.Logf("C1 replica busy on 2 threads used %.3f cores (quota 0.1)", cores)
	if math.Abs(cores-0.1) > 0.01 {
		t.Errorf("C1 replica used %.3f cores, want 0.1 ±10%%", cores)
	}
	if err := <-done; err != nil {
		t.Errorf("spin request: %v", err)
	}
}

// TestBadManifests: each bad manifest gives one clear line and a non-zero exit, and nothing is
// deployed.
func TestBadManifests(t *testing.T) {
	d := startDaemon(t)
	cases := []struct{ name, manifest, want string }{
		{"jcloud.yml", "instance: C9\n", `jcloud.yml:1: instance "C9" is not an instance type (C1..C8)`},
		{"fnrun.yml", "instance: C3\nautoscale:\n  min: 3\n  max: 2\n", "fnrun.yml:"},
		{"fnrun.yml", "autoscale:\n  max: 0\n", "fnrun.yml:2:"},
		{"fnrun.yml", "autoscale:\n  metric: cpu\n  target: 150\n", "fnrun.yml:3:"},
		{"fnrun.yml", "timeout: -5\n", "fnrun.yml:1:"},
		{"fnrun.yml", "autoscale:\n  min: 0\n  metric: cpu\n", "fnrun.yml:"},
		{"fnrun.yml", "instanse: C3\n", "fnrun.yml:1:"},
		{"fnrun.yml", "timeout: [1, 2\n", "fnrun.yml:"},
		{"fnrun.yml", "timeout: abc\n", "fnrun.yml:1:"},
	}
	for _, c := range cases {
		dir := writeApp(t, map[string]string{c.name: c.manifest, "main.py": "from fastapi import FastAPI\napp = FastAPI()\n"})
		out, errOut, err := d.fnrunIn(dir, "deploy")
		if err == nil {
			t.Errorf("%q: deploy succeeded, want an error\n%s", c.manifest, out)
			continue
		}
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("%q: stderr = %q, want one line containing %q", c.manifest, errOut, c.want)
		}
		// The same file through --config is refused the same way.
		if _, errOut2, err := d.fnrunIn(dir, "deploy", "--config", filepath.Join(dir, c.name)); err == nil || !strings.Contains(errOut2, c.name+":") {
			t.Errorf("%q via --config: err=%v stderr=%q", c.manifest, err, errOut2)
		}
	}
	if apps := d.list(); len(apps) != 0 {
		t.Errorf("fnrun list shows %d apps after bad deploys, want none", len(apps))
	}
	if left := cgroupLeftovers(d.cgroup); len(left) != 0 {
		t.Errorf("cgroups after bad deploys: %v", left)
	}
}

// TestRemoveLeavesNothing: after fnrun remove, no process, cgroup or route of the app is left.
func TestRemoveLeavesNothing(t *testing.T) {
	d := startDaemon(t)
	app := d.deploy(spinApp(t, "instance: C1\nautoscale: {min: 2, max: 2}\ncommand: [./spinserver]\n"), "--name", "gone")
	if len(app.Replicas) != 2 {
		t.Fatalf("deployed %d replicas, want 2", len(app.Replicas))
	}
	if code, _, err := d.get(app.ID, "/"); err != nil || code != 200 {
		t.Fatalf("app answers %d, %v before remove", code, err)
	}
	d.mustFnrun("", "remove", app.ID)
	for _, r := range app.Replicas {
		if processAlive(r.PID) {
			t.Errorf("replica %s (pid %d) still running after remove", r.Hostname, r.PID)
		}
		if _, err := os.Stat(r.Cgroup); err == nil {
			t.Errorf("cgroup %s still exists after remove", r.Cgroup)
		}
	}
	if left := cgroupLeftovers(d.cgroup); len(left) != 0 {
		t.Errorf("cgroups left after remove: %v", left)
	}
	if code, body, _ := d.get(app.ID, "/"); code != 404 {
		t.Errorf("route still answers %d %q after remove, want 404", code, body)
	}
	if _, err := os.Stat(filepath.Join(d.stateDir, "apps", app.ID)); err == nil {
		t.Errorf("state of app %s still on disk after remove", app.ID)
	}
	if apps := d.list(); len(apps) != 0 {
		t.Errorf("list shows %d apps after remove", len(apps))
	}
}

// TestCrashedReplicaRestarted: a replica killed with SIGKILL is replaced and the app serves again.
func TestCrashedReplicaRestarted(t *testing.T) {
	d := startDaemon(t)
	app := d.deploy(spinApp(t, "instance: C1\nautoscale: {min: 1, max: 1}\ncommand: [./spinserver]\n"), "--name", "crashy")
	old := app.Replicas[0]
	if err := syscall.Kill(old.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("kill replica: %v", err)
	}
	eventually(t, 20*time.Second, "a new ready replica", func() bool {
		st := d.status(app.ID)
		return st.Ready == 1 && len(st.Replicas) == 1 && st.Replicas[0].Hostname != old.Hostname
	})
	if code, _, err := d.get(app.ID, "/"); err != nil || code != 200 {
		t.Errorf("after restart the app answers %d, %v", code, err)
	}
	if _, err := os.Stat(old.Cgroup); err == nil {
		t.Errorf("the crashed replica's cgroup %s is still there", old.Cgroup)
	}
}
