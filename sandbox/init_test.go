package sandbox

import (
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseStatus(t *testing.T) {
	tests := []struct {
		in     string
		want   ExitStatus
		wantOK bool
	}{
		{"exit 0", ExitStatus{Code: 0}, true},
		{"exit 3", ExitStatus{Code: 3}, true},
		{"signal 9", ExitStatus{Code: 137, Signal: "SIGKILL"}, true},
		{"signal 15\n", ExitStatus{Code: 143, Signal: "SIGTERM"}, true},
		{"", ExitStatus{}, false},
		{"exit x", ExitStatus{}, false},
		{"stopped 1", ExitStatus{}, false},
	}
	for _, tc := range tests {
		got, ok := parseStatus(tc.in)
		if ok != tc.wantOK || got != tc.want {
			t.Errorf("parseStatus(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestWaitStatus(t *testing.T) {
	// Linux wait status encoding: exit code in bits 8..15, signal in 0..6.
	if got := waitStatus(syscall.WaitStatus(3 << 8)); got != (ExitStatus{Code: 3}) {
		t.Errorf("exit 3 → %+v", got)
	}
	if got := waitStatus(syscall.WaitStatus(9)); got != (ExitStatus{Code: 137, Signal: "SIGKILL"}) {
		t.Errorf("signal 9 → %+v", got)
	}
}

func TestMountOptions(t *testing.T) {
	flags, data := mountOptions([]string{"nosuid", "nodev", "mode=1777", "size=64m"})
	if flags != unix.MS_NOSUID|unix.MS_NODEV || data != "mode=1777,size=64m" {
		t.Errorf("mountOptions = %#x, %q", flags, data)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "app")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
		wantErr          bool
	}{
		{"app", "/nonexistent:" + dir, exe, false},
		{"data", dir, "", true},
		{"missing", dir, "", true},
		{exe, "", exe, false},
		{dir, "", "", true},
	}
	for _, tc := range tests {
		got, err := lookPath(tc.name, tc.path)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("lookPath(%q, %q) = %q, %v; want %q, err %v", tc.name, tc.path, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestNewInitConfig(t *testing.T) {
	r := Replica{App: "app", Revision: "00001", Hostname: "app-1-x", Args: []string{"srv", "--port=$PORT"}, Dir: "/code"}
	full := BuildSpec(r, 8080)
	full.Process.User = specs.User{UID: 998, GID: 997}
	hostOnly := BuildSpec(r, 8080)
	hostOnly.Linux.Namespaces = withoutNamespace(withoutNamespace(hostOnly.Linux.Namespaces, specs.MountNamespace), specs.PIDNamespace)
	tasks := []string{"/sys/fs/cgroup/cpu/fnrun/app/app-1-x/tasks"}
	tests := []struct {
		name  string
		spec  *specs.Spec
		tasks []string
		want  initConfig
	}{
		{"all namespaces", full, tasks, initConfig{
			Args: []string{"srv", "--port=8080"}, Env: full.Process.Env, Cwd: "/code", UID: 998, GID: 997,
			NoNewPrivs: true, Hostname: "app-1-x", MountNS: true, PIDNS: true, CgroupTasks: tasks,
			Mounts: []initMount{
				{Source: "proc", Target: "/proc", Type: "proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
				{Source: "tmpfs", Target: "/tmp", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: "mode=1777"},
			},
		}},
		{"no mount or pid namespace, started in its cgroup", hostOnly, nil, initConfig{
			Args: []string{"srv", "--port=8080"}, Env: hostOnly.Process.Env, Cwd: "/code",
			NoNewPrivs: true, Hostname: "app-1-x",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := newInitConfig(tc.spec, tc.tasks); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("newInitConfig =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}
