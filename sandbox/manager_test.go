package sandbox

import (
	"testing"
)

func TestCgroupGroup(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"", "/fnrun", false},
		{"/fnrun", "/fnrun", false},
		{"/sys/fs/cgroup/fnrun", "/fnrun", false},
		{"/sys/fs/cgroup/fnrun/", "/fnrun", false},
		{"/fnrun-test-12/x", "/fnrun-test-12/x", false},
		{"/sys/fs/cgroup", "", true},
		{"/", "", true},
		{"fnrun", "", true},
	}
	for _, tc := range tests {
		got, err := cgroupGroup(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("cgroupGroup(%q) = %q, %v; want %q, err %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestNewManagerRoots(t *testing.T) {
	m2, err := newManager(Config{Network: NetworkHost}, ModeV2)
	if err != nil {
		t.Fatal(err)
	}
	if got := m2.Root(); got != "/sys/fs/cgroup/fnrun" {
		t.Errorf("v2 Root = %q", got)
	}
	m1, err := newManager(Config{CgroupRoot: "/sys/fs/cgroup/fnrun", StateDir: "/var/lib/fnrun"}, ModeV1)
	if err != nil {
		t.Fatal(err)
	}
	if got := m1.Root(); got != "/sys/fs/cgroup/{cpu,cpuacct,memory,pids,freezer}/fnrun" {
		t.Errorf("v1 Root = %q", got)
	}
	if m1.net == nil || m1.net.bridge != DefaultBridge || m1.net.gateway.String() != "10.89.0.1" {
		t.Errorf("default network = %+v, want bridge fnrun0 with gateway 10.89.0.1", m1.net)
	}
	if m1.cfg.User != DefaultUser || m1.cfg.InitPath != DefaultInitPath || m1.cfg.StopGrace != DefaultStopGrace {
		t.Errorf("defaults not applied: %+v", m1.cfg)
	}
}
