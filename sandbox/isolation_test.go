package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNamespacesDifferFromHost(t *testing.T) {
	m := newTestManager(t)
	s := start(t, m, replica(t, "C1", "sleep", "1000"))
	for _, ns := range []string{"pid", "net", "mnt", "uts", "ipc"} {
		host, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			t.Fatal(err)
		}
		for _, pid := range []int{s.PID(), appPID(t, s)} {
			got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
			if err != nil {
				t.Fatal(err)
			}
			if got == host {
				t.Errorf("pid %d shares the host's %s namespace %s", pid, ns, got)
			}
		}
	}
	// The init is PID 1 of its namespace.
	if nspid := statusField(t, s.PID(), "NSpid"); !strings.HasSuffix(nspid, "\t1") {
		t.Errorf("init NSpid = %q, want it to end in 1", nspid)
	}
}

// statusField returns the value of field in /proc/pid/status.
func statusField(t *testing.T, pid int, field string) string {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == field {
			return v
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return ""
}

func TestRunsUnprivilegedWithNoNewPrivs(t *testing.T) {
	m := newTestManager(t)
	s := start(t, m, replica(t, "C1", "sleep", "1000"))
	app := appPID(t, s)
	for _, pid := range []int{s.PID(), app} {
		for _, f := range []string{"Uid", "Gid"} {
			ids := strings.Fields(statusField(t, pid, f))
			for _, id := range ids {
				if id == "0" {
					t.Errorf("pid %d %s = %v, want no 0", pid, f, ids)
				}
			}
		}
		if got := strings.TrimSpace(statusField(t, pid, "Groups")); got != "" {
			t.Errorf("pid %d Groups = %q, want none", pid, got)
		}
	}
	if got := strings.TrimSpace(statusField(t, app, "NoNewPrivs")); got != "1" {
		t.Errorf("app pid %d NoNewPrivs = %q, want 1", app, got)
	}
	// The init's thread that forked the app has it too (all its threads
	// where the binary has no cgo).
	tid := forkingThread(t, s.PID(), app)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/status", s.PID(), tid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "NoNewPrivs:\t1") {
		t.Errorf("init thread %d lacks NoNewPrivs", tid)
	}
}

// forkingThread returns the thread of pid whose child is child.
func forkingThread(t *testing.T, pid, child int) int {
	t.Helper()
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, c := range strings.Fields(string(b)) {
			if c == fmt.Sprint(child) {
				var tid int
				fmt.Sscan(filepath.Base(filepath.Dir(f)), &tid)
				return tid
			}
		}
	}
	t.Fatalf("no thread of %d has child %d", pid, child)
	return 0
}

func TestPrivateTmpAndProc(t *testing.T) {
	m := newTestManager(t)
	var out bytes.Buffer
	marker := fmt.Sprintf("fnrun-private-%d", os.Getpid())
	r := replica(t, "C1", "/bin/sh", "-c", "touch /tmp/"+marker+" && ls /tmp && echo pids: $(ls -d /proc/[0-9]* | wc -l)")
	r.Stdout = &out
	s := start(t, m, r)
	waitDone(t, s, slow(5*time.Second))
	if s.Exit().Code != 0 {
		t.Fatalf("exit = %+v, output %q", s.Exit(), out.String())
	}
	var files string
	var npids int
	if _, err := fmt.Sscanf(out.String(), "%s\npids: %d\n", &files, &npids); err != nil || files != marker {
		t.Errorf("output = %q, want only %s in /tmp", out.String(), marker)
	}
	// The init, the shell and its pipeline: only the namespace's own processes.
	if npids < 3 || npids > 6 {
		t.Errorf("/proc in the sandbox shows %d processes, want 3..6", npids)
	}
	if _, err := os.Stat("/tmp/" + marker); err == nil {
		os.Remove("/tmp/" + marker)
		t.Errorf("/tmp/%s written in the sandbox is visible on the host", marker)
	}
}

func TestReplicaServesOnItsAddress(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("needs /usr/bin/python3 for an HTTP server")
	}
	m := newTestManager(t)
	// Not `python3 -m http.server`: its server_bind resolves the bind
	// address's FQDN, which waits out DNS timeouts (10 s and more) in a
	// sandbox without a reachable resolver before it listens.
	const serve = `import sys, socketserver, http.server as h
socketserver.TCPServer(("0.0.0.0", int(sys.argv[1])), h.SimpleHTTPRequestHandler).serve_forever()`
	r := replica(t, "C3", "/usr/bin/python3", "-c", serve, "$PORT")
	r.Dir = "/etc"
	var stderr syncBuffer
	r.Stderr = &stderr
	s := start(t, m, r)
	if ip := s.IP(); ip == nil || !strings.HasPrefix(s.Address(), ip.String()+":8080") {
		t.Fatalf("address = %s, ip = %v: want the replica's IP:8080", s.Address(), ip)
	}
	client := &http.Client{Timeout: slow(time.Second)}
	t0 := time.Now()
	deadline := t0.Add(slow(15 * time.Second))
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-s.Done():
			t.Fatalf("replica exited before it answered: %+v, stderr %q", s.Exit(), stderr.String())
		default:
		}
		resp, err := client.Get("http://" + s.Address() + "/hostname")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("GET /hostname: %s", resp.Status)
			}
			if len(body) == 0 {
				t.Error("empty body")
			}
			t.Logf("answered %s after %s", s.Address(), time.Since(t0).Round(time.Millisecond))
			return
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("replica never answered on %s within %s: %v (stderr %q)", s.Address(), slow(15*time.Second), lastErr, stderr.String())
}

func TestForkBombContained(t *testing.T) {
	m := newTestManager(t)
	s := start(t, m, replica(t, "C2", "/bin/sh", "-c", "b() { b | b & }; b; sleep 1000"))
	// Watch the bomb for the whole window, or for a second more once it hit
	// the limit: it must reach it (it ran) and never pass it (contained).
	var peak uint64
	end := time.Now().Add(slow(6 * time.Second))
	for now := time.Now(); now.Before(end); now = time.Now() {
		st, err := s.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.PidsCurrent > st.PidsMax {
			t.Fatalf("pids.current %d > pids.max %d", st.PidsCurrent, st.PidsMax)
		}
		if st.PidsCurrent > peak {
			peak = st.PidsCurrent
			if peak >= PidsLimit {
				end = now.Add(time.Second)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("fork bomb peaked at %d tasks (max %d)", peak, PidsLimit)
	if peak < PidsLimit/2 {
		t.Errorf("fork bomb only reached %d tasks: it did not run", peak)
	}
	if err := s.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
	assertNoLeftovers(t, m)
}

func TestMemoryHogIsOOMKilled(t *testing.T) {
	m := newTestManager(t)
	s := start(t, m, replica(t, "C1", "tail", "/dev/zero"))
	waitDone(t, s, slow(60*time.Second))
	if got := s.Exit(); !got.OOMKilled || got.Signal != "SIGKILL" {
		t.Errorf("exit = %+v, want OOMKilled by SIGKILL", got)
	}
	if err := s.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestStartStopCyclesLeakNothing(t *testing.T) {
	m := newTestManager(t)
	const cycles = 50
	var pids []int
	var netns []string
	for i := 0; i < cycles; i++ {
		s, err := m.Start(t.Context(), replica(t, "C1", "sleep", "1000"))
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		pids = append(pids, s.PID(), appPID(t, s))
		ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", s.PID()))
		if err != nil {
			t.Fatal(err)
		}
		netns = append(netns, ns)
		if err := s.Stop(time.Second); err != nil {
			t.Fatalf("cycle %d: stop: %v", i, err)
		}
	}
	assertNoLeftovers(t, m)
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d alive after its Stop", pid)
		}
	}
	veths, err := m.net.veths()
	if err != nil {
		t.Fatal(err)
	}
	if len(veths) > 0 {
		t.Errorf("veths left on the bridge: %v", veths)
	}
	allocs, err := m.net.ipam.allocated()
	if err != nil {
		t.Fatal(err)
	}
	if len(allocs) > 0 {
		t.Errorf("addresses still allocated: %v", allocs)
	}
	// The spare init holds a fresh network namespace, whose inode number the
	// kernel may have reused from a stopped replica's.
	m.Close()
	live := liveNetns(t)
	for _, ns := range netns {
		if live[ns] {
			t.Errorf("network namespace %s of a stopped replica still in use", ns)
		}
	}
}

// liveNetns returns the network namespaces of every process on the host.
func liveNetns(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if ns, err := os.Readlink("/proc/" + e.Name() + "/ns/net"); err == nil {
			out[ns] = true
		}
	}
	return out
}

func TestLiveReplicasGetDistinctAddresses(t *testing.T) {
	m := newTestManager(t)
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		s := start(t, m, replica(t, "C1", "sleep", "1000"))
		if seen[s.Address()] {
			t.Errorf("address %s given twice", s.Address())
		}
		seen[s.Address()] = true
	}
	allocs, err := m.net.ipam.allocated()
	if err != nil {
		t.Fatal(err)
	}
	if len(allocs) != 3 {
		t.Errorf("allocations = %v, want 3", allocs)
	}
	if err := m.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if allocs, _ := m.net.ipam.allocated(); len(allocs) != 0 {
		t.Errorf("allocations after Cleanup = %v", allocs)
	}
	if veths, _ := m.net.veths(); len(veths) != 0 {
		t.Errorf("veths after Cleanup = %v", veths)
	}
}

func TestHostNetworkMode(t *testing.T) {
	m := newTestManager(t, func(c *Config) { c.Network = NetworkHost })
	s := start(t, m, replica(t, "C1", "sleep", "1000"))
	if !strings.HasPrefix(s.Address(), "127.0.0.1:") || s.IP() != nil {
		t.Errorf("address = %s, ip = %v: want 127.0.0.1:<port>", s.Address(), s.IP())
	}
	host, _ := os.Readlink("/proc/self/ns/net")
	got, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", s.PID()))
	if got != host {
		t.Errorf("host-network replica in netns %s, host is %s", got, host)
	}
	hostUTS, _ := os.Readlink("/proc/self/ns/uts")
	if uts, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/uts", s.PID())); uts == hostUTS {
		t.Error("host-network replica shares the host's uts namespace")
	}
}

func TestGracefulAppExitAndOrphansReaped(t *testing.T) {
	m := newTestManager(t)
	// The orphaned sleep 0.1 is reparented to the init, which must reap it;
	// on SIGTERM the shell exits 0 by itself.
	s := start(t, m, replica(t, "C1", "/bin/sh", "-c", `(sleep 0.1 &); trap "exit 0" TERM; sleep 1000 & wait`))
	// Once the shell runs its sleep 1000 it has set the trap and its subshell
	// has forked the orphan; the init reaped that when the app is its only
	// child again (an unreaped orphan stays its child as a zombie).
	app := appPID(t, s)
	var initKids, appKids []int
	deadline := time.Now().Add(slow(5 * time.Second))
	for {
		initKids, appKids = children(t, s.PID()), children(t, app)
		if len(initKids) == 1 && initKids[0] == app && len(appKids) == 1 && cmdline(appKids[0]) == "sleep 1000" {
			break
		}
		if time.Now().After(deadline) {
			for _, pid := range initKids {
				if pid != app && !alive(pid) {
					t.Errorf("zombie pid %d in the sandbox: the init did not reap it", pid)
				}
			}
			t.Fatalf("after %s the init's children are %v and the app's %v, want only the app %d and its sleep",
				slow(5*time.Second), initKids, appKids, app)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := s.Exit(); got.Code != 0 || got.Signal != "" {
		t.Errorf("exit = %+v, want the app's clean exit 0", got)
	}
}

func TestConcurrentStartStop(t *testing.T) {
	m := newTestManager(t)
	const n = 6
	type result struct {
		s   *Sandbox
		err error
	}
	rs := make([]Replica, n)
	for i := range rs {
		rs[i] = replica(t, "C1", "sleep", "1000")
	}
	ch := make(chan result, n)
	for i := range rs {
		go func(r Replica) {
			s, err := m.Start(t.Context(), r)
			ch <- result{s, err}
		}(rs[i])
	}
	var boxes []*Sandbox
	addrs := map[string]bool{}
	for i := 0; i < n; i++ {
		res := <-ch
		if res.err != nil {
			t.Errorf("concurrent start: %v", res.err)
			continue
		}
		if addrs[res.s.Address()] {
			t.Errorf("address %s given to two live replicas", res.s.Address())
		}
		addrs[res.s.Address()] = true
		boxes = append(boxes, res.s)
	}
	errs := make(chan error, len(boxes))
	for _, s := range boxes {
		go func(s *Sandbox) { errs <- s.Stop(time.Second) }(s)
	}
	for range boxes {
		if err := <-errs; err != nil {
			t.Errorf("concurrent stop: %v", err)
		}
	}
	assertNoLeftovers(t, m)
}

// children returns the pids of every child of pid's threads.
func children(t *testing.T, pid int) []int {
	t.Helper()
	files, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		t.Fatal(err)
	}
	var kids []int
	for _, f := range files {
		b, _ := os.ReadFile(f) // a thread that exited meanwhile has none
		for _, c := range strings.Fields(string(b)) {
			var k int
			if _, err := fmt.Sscan(c, &k); err == nil {
				kids = append(kids, k)
			}
		}
	}
	return kids
}

// cmdline returns pid's argv joined by spaces, or "" once it is gone.
func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.Join(strings.Fields(strings.ReplaceAll(string(b), "\x00", " ")), " ")
}
