package systemd

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDelegatedSubtree(t *testing.T) {
	svc := Layout{
		Subtree: "/sys/fs/cgroup/system.slice/fnrund.service",
		Daemon:  "/sys/fs/cgroup/system.slice/fnrund.service/daemon",
		Apps:    "/sys/fs/cgroup/system.slice/fnrund.service/apps",
	}
	tests := []struct {
		name    string
		in      string
		mount   string
		want    Layout
		wantErr error // sentinel, or nil with wantAny for a plain error
		wantAny bool
	}{
		{name: "service cgroup (fixture)", in: readFixture(t, "cgroup-service.txt"), mount: "/sys/fs/cgroup", want: svc},
		{name: "already in the daemon leaf", in: "0::/system.slice/fnrund.service/daemon\n", mount: "/sys/fs/cgroup", want: svc},
		{name: "named v1 hierarchy is ignored", in: "1:name=systemd:/system.slice/fnrund.service\n0::/system.slice/fnrund.service\n", mount: "/sys/fs/cgroup", want: svc},
		{name: "other mount point", in: "0::/system.slice/x.service", mount: "/cg",
			want: Layout{Subtree: "/cg/system.slice/x.service", Daemon: "/cg/system.slice/x.service/daemon", Apps: "/cg/system.slice/x.service/apps"}},
		{name: "transient scope", in: "0::/system.slice/run-u7.scope\n", mount: "/sys/fs/cgroup",
			want: Layout{Subtree: "/sys/fs/cgroup/system.slice/run-u7.scope", Daemon: "/sys/fs/cgroup/system.slice/run-u7.scope/daemon", Apps: "/sys/fs/cgroup/system.slice/run-u7.scope/apps"}},
		{name: "hybrid host (fixture)", in: readFixture(t, "cgroup-hybrid.txt"), mount: "/sys/fs/cgroup", wantErr: ErrNotUnified},
		{name: "no unified line", in: "1:name=systemd:/\n", mount: "/sys/fs/cgroup", wantErr: ErrNotUnified},
		{name: "root cgroup (no systemd)", in: "0::/\n", mount: "/sys/fs/cgroup", wantErr: ErrNotAService},
		{name: "user session", in: "0::/user.slice/user-0.slice/session-3.scope/sub\n", mount: "/sys/fs/cgroup", wantErr: ErrNotAService},
		{name: "slice", in: "0::/system.slice\n", mount: "/sys/fs/cgroup", wantErr: ErrNotAService},
		{name: "garbage line", in: "nonsense\n", mount: "/sys/fs/cgroup", wantAny: true},
		{name: "relative path", in: "0::system.slice/a.service\n", mount: "/sys/fs/cgroup", wantAny: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DelegatedSubtree(tt.in, tt.mount)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.wantAny:
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Fatalf("got %+v\nwant %+v", got, tt.want)
				}
			}
		})
	}
}

func TestUnderSystemd(t *testing.T) {
	env := map[string]string{"INVOCATION_ID": "0123abcd"}
	if !UnderSystemd(func(k string) string { return env[k] }) {
		t.Error("INVOCATION_ID set: want true")
	}
	if UnderSystemd(func(string) string { return "" }) {
		t.Error("no INVOCATION_ID: want false")
	}
}

func TestSubtreeControl(t *testing.T) {
	if got := SubtreeControl([]string{"cpu", "memory", "pids"}); got != "+cpu +memory +pids" {
		t.Fatalf("got %q", got)
	}
}

// TestEnterFakeTree runs Enter against a directory tree laid out like a delegated cgroup: it must
// move the pid into the daemon leaf, enable the subtree's controllers and create apps with them.
func TestEnterFakeTree(t *testing.T) {
	root := t.TempDir()
	l := Layout{Subtree: root, Daemon: filepath.Join(root, DaemonLeaf), Apps: filepath.Join(root, AppsGroup)}
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A real cgroupfs creates these files with the directory; the fake has them already.
	write(filepath.Join(root, "cgroup.controllers"), "cpu memory pids\n")
	write(filepath.Join(root, "cgroup.subtree_control"), "")
	write(filepath.Join(l.Daemon, "cgroup.procs"), "")
	write(filepath.Join(l.Apps, "cgroup.controllers"), "cpu memory\n")
	write(filepath.Join(l.Apps, "cgroup.subtree_control"), "")

	if err := Enter(l, 4242); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		filepath.Join(l.Daemon, "cgroup.procs"):         "4242",
		filepath.Join(root, "cgroup.subtree_control"):   "+cpu +memory +pids",
		filepath.Join(l.Apps, "cgroup.subtree_control"): "+cpu +memory",
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Errorf("%s = %q, want %q", file, b, want)
		}
	}
}

func TestEnterMissingSubtree(t *testing.T) {
	root := filepath.Join(t.TempDir(), "absent")
	l := Layout{Subtree: root, Daemon: filepath.Join(root, DaemonLeaf), Apps: filepath.Join(root, AppsGroup)}
	if err := Enter(l, 1); err == nil {
		t.Fatal("want an error for a subtree that does not exist")
	}
}
