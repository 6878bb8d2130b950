package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fakeCgroupfs lays out the files cgroupfs would have for dirs under mount.
func fakeCgroupfs(t *testing.T, mount string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		p := filepath.Join(mount, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		// cgroupfs creates these files with the directory.
		for _, f := range []string{"cgroup.subtree_control", "cgroup.procs", "cpu.max", "memory.max", "pids.max"} {
			if err := os.WriteFile(filepath.Join(p, f), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func readTrim(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestV2CreateWritesLimits(t *testing.T) {
	mount := t.TempDir()
	fakeCgroupfs(t, mount, ".", "fnrun", "fnrun/app", "fnrun/app/app-1-x")
	d := v2Driver{mountpoint: mount, base: "/fnrun"}
	r := Replica{App: "app", Hostname: "app-1-x", Args: []string{"x"}, Instance: mustInstance(t, "C2")}
	spec := BuildSpec(r, 8080)

	l, err := d.create(spec.Linux.CgroupsPath, spec.Linux.Resources)
	if err != nil {
		t.Fatal(err)
	}
	leafDir := filepath.Join(mount, "fnrun/app/app-1-x")
	if l.path() != leafDir {
		t.Errorf("path = %s, want %s", l.path(), leafDir)
	}
	for file, want := range map[string]string{
		"cpu.max":    "50000 100000",
		"memory.max": "1073741824",
		"pids.max":   "512",
	} {
		if got := readTrim(t, filepath.Join(leafDir, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(leafDir, "memory.swap.max")); err == nil {
		t.Error("memory.swap.max written although the kernel has none")
	}
	for _, dir := range []string{".", "fnrun", "fnrun/app"} {
		got := readTrim(t, filepath.Join(mount, dir, "cgroup.subtree_control"))
		for _, c := range []string{"+cpu", "+memory", "+pids"} {
			if !strings.Contains(got, c) {
				t.Errorf("%s/cgroup.subtree_control = %q, missing %s", dir, got, c)
			}
		}
	}
}

func TestV2CreateSetsSwapWhereAccounted(t *testing.T) {
	mount := t.TempDir()
	fakeCgroupfs(t, mount, ".", "fnrun", "fnrun/app", "fnrun/app/app-1-x")
	leafDir := filepath.Join(mount, "fnrun/app/app-1-x")
	if err := os.WriteFile(filepath.Join(leafDir, "memory.swap.max"), []byte("max\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := v2Driver{mountpoint: mount, base: "/fnrun"}
	spec := BuildSpec(Replica{App: "app", Hostname: "app-1-x", Args: []string{"x"}, Instance: mustInstance(t, "C1")}, 1)
	if _, err := d.create(spec.Linux.CgroupsPath, spec.Linux.Resources); err != nil {
		t.Fatal(err)
	}
	if got := readTrim(t, filepath.Join(leafDir, "memory.swap.max")); got != "0" {
		t.Errorf("memory.swap.max = %q, want 0", got)
	}
}

func TestV2PrepareUsesCgroupFD(t *testing.T) {
	l := &v2Leaf{dir: t.TempDir()}
	cmd := exec.Command("/bin/true")
	release, err := l.prepare(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if !cmd.SysProcAttr.UseCgroupFD || cmd.SysProcAttr.CgroupFD <= 2 {
		t.Errorf("SysProcAttr = %+v, want UseCgroupFD with an open fd", cmd.SysProcAttr)
	}
}

func TestV2ListsAndCountsProcs(t *testing.T) {
	mount := t.TempDir()
	fakeCgroupfs(t, mount, "fnrun", "fnrun/a", "fnrun/a/a-1-x", "fnrun/b")
	if err := os.WriteFile(filepath.Join(mount, "fnrun/a/a-1-x/cgroup.procs"), []byte("12\n34\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := v2Driver{mountpoint: mount, base: "/fnrun"}
	rels, err := d.relDirs()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a/a-1-x", "a", "b"}; !reflect.DeepEqual(rels, want) {
		t.Errorf("relDirs = %q, want %q (deepest first)", rels, want)
	}
	pids, err := d.procs("a")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{12, 34}; !reflect.DeepEqual(pids, want) {
		t.Errorf("procs(a) = %v, want %v", pids, want)
	}
}
