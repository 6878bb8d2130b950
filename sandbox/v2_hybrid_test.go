package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// noLimitsV2 is the v2 driver without resource limits, for the controller-less
// cgroup2 mount of a hybrid host.
type noLimitsV2 struct{ v2Driver }

func (d noLimitsV2) create(rel string, _ *specs.LinuxResources) (leaf, error) {
	return d.v2Driver.create(rel, &specs.LinuxResources{})
}

// TestV2LifecycleOnHybridUnifiedMount runs the v2 process lifecycle
// (CLONE_INTO_CGROUP, cgroup.kill, rmdir, Cleanup) on the real cgroup2
// filesystem a hybrid host mounts at /sys/fs/cgroup/unified. It has no
// controllers, so limits and stats are left to a pure v2 host.
func TestV2LifecycleOnHybridUnifiedMount(t *testing.T) {
	const unified = "/sys/fs/cgroup/unified"
	var st unix.Statfs_t
	if err := unix.Statfs(unified, &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		t.Skip("needs a hybrid host with cgroup2 at " + unified)
	}
	m := newTestManager(t)
	m.drv = noLimitsV2{v2Driver{mountpoint: unified, base: m.drv.group()}}
	if err := os.MkdirAll(m.drv.root(), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.RemoveRoot(); err != nil {
			t.Errorf("remove v2 test root: %v", err)
		}
	})

	s := start(t, m, replica(t, "C1", "/bin/sh", "-c", `trap "" TERM; sleep 1000 & sleep 1000 & wait; wait`))
	want := "0::" + filepath.Join(m.drv.group(), s.rel)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", s.PID()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), want+"\n") {
		t.Fatalf("init's /proc/PID/cgroup = %q, want the line %q (CLONE_INTO_CGROUP)", b, want)
	}
	var pids []int
	for end := time.Now().Add(slow(5 * time.Second)); len(pids) < 4 && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if pids, err = m.drv.procs(s.rel); err != nil {
			t.Fatal(err)
		}
	}
	if len(pids) < 4 {
		t.Fatalf("v2 leaf procs = %v, want init, shell and two sleeps", pids)
	}
	if err := s.Stop(200 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d alive after Stop (cgroup.kill)", pid)
		}
	}
	if exists(s.Cgroup()) || exists(filepath.Dir(s.Cgroup())) {
		t.Errorf("leaf %s or its app cgroup still exists", s.Cgroup())
	}

	left := start(t, m, replica(t, "C1", "sleep", "1000"))
	if err := m.Cleanup(); err != nil {
		t.Fatal(err)
	}
	waitDone(t, left, slow(5*time.Second))
	assertNoLeftovers(t, m)
}
