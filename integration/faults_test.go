package integration

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKillReplicaUnderLoad: kill -9 of one of two replicas during a 200 req/s GET load fails no
// request, and the replica is replaced.
func TestKillReplicaUnderLoad(t *testing.T) {
	d := startDaemon(t)
	app := d.deploy(spinApp(t, "instance: C1\nautoscale: {min: 2, max: 2}\ncommand: [./spinserver]\n"), "--name", "killme")
	stop := make(chan struct{})
	done := make(chan *loadResult)
	go func() { done <- d.steadyLoad(app.ID, "/", 200, stop) }()
	time.Sleep(2 * time.Second)
	victim := app.Replicas[0]
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the killed replica replaced", func() bool {
		st := d.status(app.ID)
		if st.Ready != 2 {
			return false
		}
		for _, r := range st.Replicas {
			if r.Hostname == victim.Hostname {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second)
	close(stop)
	res := <-done
	t.Logf("sent %d GETs at 200/s, %d failed", res.sent.Load(), res.failed())
	if res.failed() != 0 {
		t.Errorf("%d of %d GETs failed around the kill: %v", res.failed(), res.sent.Load(), res.failures)
	}
}

// TestRedeployUnderLoad: fnrun deploy --app-id rolls out a new revision while 100 req/s of GETs
// flow: no request fails and the new revision answers (K_REVISION).
func TestRedeployUnderLoad(t *testing.T) {
	d := startDaemon(t)
	dir := spinApp(t, "instance: C1\nautoscale: {min: 2, max: 2}\ncommand: [./spinserver]\n")
	app := d.deploy(dir, "--name", "roll")
	stop := make(chan struct{})
	done := make(chan *loadResult)
	go func() { done <- d.steadyLoad(app.ID, "/", 100, stop) }()
	time.Sleep(time.Second)
	next := d.deploy(dir, "--app-id", app.ID)
	if next.ID != app.ID || next.Revision != 2 {
		t.Fatalf("redeploy gave %s revision %d, want %s revision 2", next.ID, next.Revision, app.ID)
	}
	eventually(t, 30*time.Second, "only revision 2 replicas", func() bool {
		st := d.status(app.ID)
		if len(st.Replicas) != 2 {
			return false
		}
		for _, r := range st.Replicas {
			if !strings.Contains(r.Hostname, "-00002-") {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second)
	close(stop)
	res := <-done
	t.Logf("sent %d GETs during the rollout, %d failed", res.sent.Load(), res.failed())
	if res.failed() != 0 {
		t.Errorf("%d GETs failed during the rollout: %v", res.failed(), res.failures)
	}
	_, body, err := d.get(app.ID, "/")
	if err != nil || !strings.Contains(body, `"revision":"`+app.ID+`-00002"`) {
		t.Errorf("after the rollout / answers %q, %v; want K_REVISION %s-00002", body, err, app.ID)
	}
	for _, r := range app.Replicas {
		if processAlive(r.PID) {
			t.Errorf("revision 1 replica %s (pid %d) still runs", r.Hostname, r.PID)
		}
	}
}

// TestScaleDownUnderLoad: an rps-scaled app goes from 2 replicas to 1 when the load drops, and
// no request fails while the removed replica drains.
func TestScaleDownUnderLoad(t *testing.T) {
	d := startDaemon(t)
	app := d.deploy(spinApp(t, "instance: C1\nautoscale: {min: 1, max: 2, metric: rps, target: 40, scale_down_window: 3s}\ncommand: [./spinserver]\n"), "--name", "shrink")
	stopHigh := make(chan struct{})
	high := make(chan *loadResult)
	go func() { high <- d.steadyLoad(app.ID, "/", 100, stopHigh) }()
	eventually(t, 20*time.Second, "2 ready replicas under 100 req/s", func() bool { return d.status(app.ID).Ready == 2 })
	stopLow := make(chan struct{})
	low := make(chan *loadResult)
	go func() { low <- d.steadyLoad(app.ID, "/", 10, stopLow) }()
	close(stopHigh)
	resHigh := <-high
	eventually(t, 30*time.Second, "back to 1 replica at 10 req/s", func() bool {
		st := d.status(app.ID)
		return st.Desired == 1 && len(st.Replicas) == 1
	})
	time.Sleep(time.Second)
	close(stopLow)
	resLow := <-low
	t.Logf("sent %d + %d GETs, %d + %d failed", resHigh.sent.Load(), resLow.sent.Load(), resHigh.failed(), resLow.failed())
	if resHigh.failed()+resLow.failed() != 0 {
		t.Errorf("GETs failed: %v %v", resHigh.failures, resLow.failures)
	}
}

// TestDaemonKill9Restart: kill -9 of fnrund under 100 req/s of GETs, then start it again: the
// app answers within 2 s with one replica as before, no orphan replica or cgroup is left, and
// requests fail only while no daemon runs.
func TestDaemonKill9Restart(t *testing.T) {
	d := startDaemon(t)
	app := d.deploy(spinApp(t, "instance: C1\nautoscale: {min: 1, max: 1}\ncommand: [./spinserver]\n"), "--name", "phoenix")
	old := app.Replicas[0]
	stop := make(chan struct{})
	done := make(chan *loadResult)
	go func() { done <- d.steadyLoad(app.ID, "/", 100, stop) }()
	time.Sleep(time.Second)
	killedAt := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	time.Sleep(500 * time.Millisecond)
	startedAt := time.Now()
	d.restart()
	var answeredAt time.Time
	eventually(t, 10*time.Second, "the app to answer after the restart", func() bool {
		code, _, err := d.get(app.ID, "/")
		if err == nil && code == 200 {
			answeredAt = time.Now()
			return true
		}
		return false
	})
	t.Logf("outage %.2fs; answering %.2fs after the new daemon started", answeredAt.Sub(killedAt).Seconds(), answeredAt.Sub(startedAt).Seconds())
	if answeredAt.Sub(startedAt) > scaled(2*time.Second) {
		t.Errorf("answered %.2fs after the restart, want within 2s", answeredAt.Sub(startedAt).Seconds())
	}
	time.Sleep(2 * time.Second)
	close(stop)
	res := <-done
	// Failures only during the outage.
	for _, f := range res.failures {
		ts, err := time.ParseInLocation("15:04:05.000", f[:12], time.Local)
		if err != nil {
			continue
		}
		ts = time.Date(killedAt.Year(), killedAt.Month(), killedAt.Day(), ts.Hour(), ts.Minute(), ts.Second(), ts.Nanosecond(), time.Local)
		if ts.Before(killedAt.Add(-100*time.Millisecond)) || ts.After(answeredAt.Add(time.Second)) {
			t.Errorf("a request failed outside the outage: %s", f)
		}
	}
	st := d.status(app.ID)
	if len(st.Replicas) != 1 || st.Ready != 1 {
		t.Errorf("after the restart %d replicas (%d ready), want 1", len(st.Replicas), st.Ready)
	}
	if processAlive(old.PID) && st.Replicas[0].PID != old.PID {
		t.Errorf("the old replica (pid %d) is an orphan", old.PID)
	}
	if left := cgroupLeftovers(d.cgroup); len(left) != 2*len(cgroupDirs(d.cgroup)) { // per hierarchy: the app's cgroup and its one leaf
		t.Errorf("cgroups after the restart: %v, want the app and one replica", left)
	}
	if _, err := os.Stat(old.Cgroup); err == nil && st.Replicas[0].Cgroup != old.Cgroup {
		t.Errorf("the old replica's cgroup %s is left", old.Cgroup)
	}
}
