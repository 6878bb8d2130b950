package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bins holds the paths of the binaries under test.
var bins struct{ fnrun, fnrund, spinserver string }

// repoRoot is the repository's top directory.
var repoRoot string

func TestMain(m *testing.M) {
	os.Exit(mainWithBinaries(m))
}

func mainWithBinaries(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Dir(filepath.Dir(file))
	if os.Geteuid() != 0 {
		fmt.Println("integration: not root — every test here skips (they need cgroups, namespaces and the real daemon)")
		return m.Run()
	}
	tmp, err := os.MkdirTemp("", "fnrun-it-bin-")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(tmp)
	dir := os.Getenv("FNRUN_BIN_DIR")
	build := func(out, pkg string) string {
		p := filepath.Join(tmp, out)
		cmd := exec.Command("go", "build", "-o", p, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as the Makefile builds them (see sandbox/start_cgroup.go)
		cmd.Dir = repoRoot
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Printf("integration: build %s: %v\n", pkg, err)
			os.Exit(1)
		}
		return p
	}
	if dir != "" {
		bins.fnrun, bins.fnrund = filepath.Join(dir, "fnrun"), filepath.Join(dir, "fnrund")
	} else {
		bins.fnrun, bins.fnrund = build("fnrun", "./cmd/fnrun"), build("fnrund", "./cmd/fnrund")
	}
	if p := filepath.Join(dir, "spinserver"); dir != "" && fileExists(p) {
		bins.spinserver = p
	} else {
		bins.spinserver = build("spinserver", "./integration/testdata/spinserver")
	}
	return m.Run()
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups and namespaces and runs the real fnrund")
	}
}

// daemon is one fnrund started for a test, with its own socket, state dir, router port and
// cgroup root.
type daemon struct {
	t        *testing.T
	cmd      *exec.Cmd
	socket   string
	stateDir string
	router   string
	cgroup   string
	bridge   string
	subnet   string
	log      *bytes.Buffer
	logFile  string
	exited   chan struct{}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// daemonSeq numbers the daemons of this test run (bridge names and subnets).
var daemonSeq int

// startDaemon starts fnrund with extra flags and waits until its API answers.
func startDaemon(t *testing.T, extra ...string) *daemon {
	t.Helper()
	needRoot(t)
	dir := t.TempDir()
	// The state dir must not be under /tmp: replicas get a private /tmp.
	stateDir, err := os.MkdirTemp("/var/lib", "fnrun-it-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(stateDir) })
	d := &daemon{
		t:        t,
		socket:   filepath.Join(dir, "fnrun.sock"),
		stateDir: stateDir,
		router:   freePort(t),
		cgroup:   fmt.Sprintf("/fnrun-it-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6),
		logFile:  filepath.Join(dir, "fnrund.log"),
	}
	daemonSeq++
	// Names and subnets unique per test process, so concurrent runs never share (or delete)
	// each other's bridge; 10.233/16 is apart from the sandbox unit tests' 10.231/16.
	d.bridge = fmt.Sprintf("fnit%d-%d", os.Getpid()%100000, daemonSeq%1000)
	d.subnet = fmt.Sprintf("10.233.%d.0/24", (os.Getpid()*7+daemonSeq)%250)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", d.bridge).Run() })
	if mode := cgroupMode(); mode == "v2" {
		d.cgroup = "/sys/fs/cgroup" + d.cgroup
	}
	for i, a := range extra {
		if a == "--socket" && i+1 < len(extra) {
			d.socket = extra[i+1]
		}
	}
	d.restart(extra...)
	t.Cleanup(func() { d.stop() })
	return d
}

func (d *daemon) restart(extra ...string) {
	t := d.t
	t.Helper()
	args := append([]string{"--socket", d.socket, "--state-dir", d.stateDir, "--listen", d.router,
		"--cgroup-root", d.cgroup, "--stop-grace", "3s", "--overcommit", "8",
		"--bridge", d.bridge, "--subnet", d.subnet, "--admin-listen", ""}, extra...)
	f, err := os.OpenFile(d.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(bins.fnrund, args...)
	d.cmd.Stdout, d.cmd.Stderr = f, f
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	d.exited = make(chan struct{})
	go func(c *exec.Cmd, ch chan struct{}) { _ = c.Wait(); close(ch) }(d.cmd, d.exited)
	deadline := time.Now().Add(scaled(15 * time.Second))
	for {
		if _, _, err := d.fnrun("list"); err == nil {
			break
		}
		select {
		case <-d.exited:
			t.Fatalf("fnrund exited at start:\n%s", d.logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("fnrund did not answer within 15s:\n%s", d.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *daemon) logs() string {
	b, _ := os.ReadFile(d.logFile)
	return string(b)
}

// stop stops fnrund with SIGTERM (it drains and stops every replica) and checks that nothing of
// it is left: no process in its cgroups, no cgroup directories.
func (d *daemon) stop() {
	t := d.t
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(scaled(30 * time.Second)):
		_ = d.cmd.Process.Kill()
		<-d.exited
		t.Errorf("fnrund did not stop within 30s of SIGTERM")
	}
	d.cmd = nil
	if left := cgroupLeftovers(d.cgroup); len(left) > 0 {
		t.Errorf("cgroups left after fnrund stopped: %v", left)
	}
	removeCgroupTree(d.cgroup)
	if t.Failed() {
		t.Logf("fnrund log:\n%s", d.logs())
	}
}

// fnrun runs the CLI against this daemon.
func (d *daemon) fnrun(args ...string) (string, string, error) {
	return d.fnrunIn("", args...)
}

func (d *daemon) fnrunIn(dir string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.fnrun, append([]string{"--socket", d.socket}, args...)...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// mustFnrun runs the CLI and fails the test on error.
func (d *daemon) mustFnrun(dir string, args ...string) string {
	d.t.Helper()
	out, errOut, err := d.fnrunIn(dir, args...)
	if err != nil {
		d.t.Fatalf("fnrun %s: %v\nstdout:\n%s\nstderr:\n%s\nfnrund log:\n%s", strings.Join(args, " "), err, out, errOut, d.logs())
	}
	return out
}

// appJSON is the part of `fnrun status -o json` the tests read.
type appJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Phase    string `json:"phase"`
	Endpoint string `json:"endpoint"`
	Desired  int    `json:"desired"`
	Ready    int    `json:"ready"`
	Revision int    `json:"revision"`
	Replicas []struct {
		Hostname   string  `json:"hostname"`
		PID        int     `json:"pid"`
		Cgroup     string  `json:"cgroup"`
		Address    string  `json:"address"`
		State      string  `json:"state"`
		CPUPercent float64 `json:"cpu_percent"`
	} `json:"replicas"`
	Decisions []struct {
		Current int    `json:"Current"`
		Desired int    `json:"Desired"`
		Reason  string `json:"Reason"`
	} `json:"decisions"`
}

func (d *daemon) status(id string) appJSON {
	d.t.Helper()
	var a appJSON
	if err := json.Unmarshal([]byte(d.mustFnrun("", "status", id, "-o", "json")), &a); err != nil {
		d.t.Fatalf("decode status: %v", err)
	}
	return a
}

func (d *daemon) list() []appJSON {
	d.t.Helper()
	var apps []appJSON
	if err := json.Unmarshal([]byte(d.mustFnrun("", "list", "-o", "json")), &apps); err != nil {
		d.t.Fatalf("decode list: %v", err)
	}
	return apps
}

// deploy deploys dir (extra CLI args allowed) and returns the app id.
func (d *daemon) deploy(dir string, args ...string) appJSON {
	d.t.Helper()
	out := d.mustFnrun(dir, append([]string{"deploy", "-o", "json"}, args...)...)
	var a appJSON
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		d.t.Fatalf("decode deploy output: %v\n%s", err, out)
	}
	return a
}

// client sends requests to the router with the app's Host header.
var client = &http.Client{Timeout: 3 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// get sends GET path to app id through the router and returns status and body.
func (d *daemon) get(id, path string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+d.router+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = id + ".localhost"
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// scaled stretches a time budget by FNRUN_TEST_TIME_SCALE (default 1): the cgroup v2 VM runs
// under software emulation, several times slower than a host. Budgets stay assertions.
func scaled(d time.Duration) time.Duration {
	if f, err := strconv.ParseFloat(os.Getenv("FNRUN_TEST_TIME_SCALE"), 64); err == nil && f >= 1 {
		return time.Duration(float64(d) * f)
	}
	return d
}

// eventually polls cond every 100 ms until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	timeout = scaled(timeout)
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// writeApp creates an app directory with the given files.
func writeApp(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// spinApp is an app dir running the spinserver test binary with the given manifest.
func spinApp(t *testing.T, manifest string) string {
	t.Helper()
	dir := writeApp(t, map[string]string{"fnrun.yml": manifest})
	data, err := os.ReadFile(bins.spinserver)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "spinserver"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie ("Z") is gone for our purposes only once reaped; report it as alive.
	return len(b) > 0
}
