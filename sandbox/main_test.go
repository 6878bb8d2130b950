package sandbox

import (
	"fmt"
	"os"
	"testing"
)

// TestMain lets the test binary serve as the sandbox init (InitPath = os.Args[0]).
func TestMain(m *testing.M) {
	if IsInit() {
		RunInit()
	}
	if err := loadTimeScale(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	if os.Geteuid() == 0 {
		b, err := newBridgeNet(testBridge, testSubnet, os.TempDir())
		if err == nil {
			err = b.removeBridge()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "remove test bridge:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// The tests' bridge and subnet, apart from a real daemon's fnrun0.
var (
	testBridge = fmt.Sprintf("fnt%d", os.Getpid())
	testSubnet = "10.231.0.0/16"
)

// newTestManager returns a Manager on a cgroup root of its own that is
// removed, and checked to be gone, at the end of the test.
func newTestManager(t testing.TB, opts ...func(*Config)) *Manager {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups and namespaces")
	}
	cfg := Config{
		CgroupRoot: fmt.Sprintf("/fnrun-test-%d-%s", os.Getpid(), sanitize(t.Name())),
		StateDir:   t.TempDir(),
		InitPath:   os.Args[0],
		Bridge:     testBridge,
		Subnet:     testSubnet,
	}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.RemoveRoot(); err != nil {
			t.Errorf("remove test cgroup root: %v", err)
		}
		for _, d := range m.drv.dirs(".") {
			if exists(d) {
				t.Errorf("test cgroup root %s left behind", d)
			}
		}
	})
	return m
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !isIdentChar(c) && c != '-' {
			b[i] = '-'
		}
	}
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}
