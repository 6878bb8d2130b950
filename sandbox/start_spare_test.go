package sandbox

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// waitSpare returns the pid of m's spare init once it has one.
func waitSpare(t testing.TB, m *Manager) int {
	t.Helper()
	deadline := time.Now().Add(slow(5 * time.Second))
	for {
		m.spares.mu.Lock()
		sp := m.spares.spare
		m.spares.mu.Unlock()
		if sp != nil {
			return sp.init.cmd.Process.Pid
		}
		if time.Now().After(deadline) {
			t.Fatal("no spare init after a Start")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStartUsesSpareInit(t *testing.T) {
	m := newTestManager(t)
	if m.Mode() != ModeV1 {
		t.Skip("spare inits are used with v1 cgroups only")
	}
	start(t, m, replica(t, "C1", "sleep", "1000"))
	spare := waitSpare(t, m)

	var stdout, stderr syncBuffer
	m.spares.mu.Lock()
	spareVeth := m.spares.spare.veth
	m.spares.mu.Unlock()
	if spareVeth == "" {
		t.Fatal("the spare has no veth pair")
	}
	r := replica(t, "C1", "/bin/sh", "-c", "echo out-$HOSTNAME; echo err >&2; ip -o link show eth0; exec sleep 1000")
	r.Stdout, r.Stderr = &stdout, &stderr
	s := start(t, m, r)
	if s.PID() != spare {
		t.Fatalf("init pid %d, want the spare %d", s.PID(), spare)
	}
	// The spare joined the replica's cgroup in every hierarchy, with its app.
	app := appPID(t, s)
	for _, dir := range m.drv.dirs(s.rel) {
		pids, err := readProcs(dir + "/cgroup.procs")
		if err != nil {
			t.Fatal(err)
		}
		if !contains(pids, s.PID()) || !contains(pids, app) {
			t.Errorf("%s/cgroup.procs = %v, want init %d and app %d", dir, pids, s.PID(), app)
		}
	}
	// The spare's veth pair was adopted: on the bridge, up, named after the
	// address, with the address's MAC inside.
	host, err := netlink.LinkByName(vethName(s.IP()))
	if err != nil {
		t.Fatalf("host side of the veth: %v", err)
	}
	br, err := netlink.LinkByName(testBridge)
	if err != nil {
		t.Fatal(err)
	}
	if host.Attrs().MasterIndex != br.Attrs().Index || host.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("veth %s: master %d (bridge %d), flags %v", host.Attrs().Name, host.Attrs().MasterIndex, br.Attrs().Index, host.Attrs().Flags)
	}
	if _, err := netlink.LinkByName(spareVeth); err == nil {
		t.Errorf("spare veth %s still there under its spare name", spareVeth)
	}
	deadline := time.Now().Add(slow(5 * time.Second))
	for !strings.Contains(stdout.String(), "out-"+r.Hostname) || !strings.Contains(stderr.String(), "err") ||
		!strings.Contains(stdout.String(), macForIP(s.IP()).String()) {
		if time.Now().After(deadline) {
			t.Fatalf("output of a replica from a spare: stdout %q, stderr %q", stdout.String(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
	if got := s.Exit(); got.Signal != "SIGTERM" {
		t.Errorf("exit = %+v, want SIGTERM", got)
	}
	if alive(spare) || alive(app) {
		t.Errorf("init %d or app %d alive after Stop", spare, app)
	}
}

func TestStartReplacesDeadSpare(t *testing.T) {
	m := newTestManager(t)
	if m.Mode() != ModeV1 {
		t.Skip("spare inits are used with v1 cgroups only")
	}
	start(t, m, replica(t, "C1", "sleep", "1000"))
	spare := waitSpare(t, m)
	m.spares.mu.Lock()
	sp := m.spares.spare
	m.spares.mu.Unlock()
	_ = sp.init.cmd.Process.Kill()
	// Its ready pipe hangs up once the last of its threads has exited.
	deadline := time.Now().Add(slow(5 * time.Second))
	for sp.waiting() {
		if time.Now().After(deadline) {
			t.Fatalf("killed spare %d still waiting", spare)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := start(t, m, replica(t, "C1", "sleep", "1000"))
	if s.PID() == spare {
		t.Fatalf("Start used the dead spare %d", spare)
	}
	appPID(t, s)
}

func TestCloseKillsSpare(t *testing.T) {
	m := newTestManager(t)
	if m.Mode() != ModeV1 {
		t.Skip("spare inits are used with v1 cgroups only")
	}
	s := start(t, m, replica(t, "C1", "sleep", "1000"))
	spare := waitSpare(t, m)
	m.Close()
	if alive(spare) {
		t.Errorf("spare %d alive after Close", spare)
	}
	// A closed Manager still starts replicas, without keeping a spare.
	s2 := start(t, m, replica(t, "C1", "sleep", "1000"))
	appPID(t, s2)
	time.Sleep(slow(3 * spareDelay))
	m.spares.mu.Lock()
	sp, filling := m.spares.spare, m.spares.filling
	m.spares.mu.Unlock()
	if sp != nil || filling {
		t.Errorf("closed Manager started a spare")
	}
	for _, x := range []*Sandbox{s, s2} {
		if err := x.Stop(time.Second); err != nil {
			t.Fatal(err)
		}
	}
	assertNoLeftovers(t, m)
}
