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
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, which the dashboard test drives headless.
const chromiumPath = "/usr/bin/chromium"

// TestDashboardShowsScaleUp is what a user of a hosted runner expects to watch: a long request
// pins the only replica's core, a second replica appears, and the dashboard's CPU chart of the
// app draws one series per replica.
func TestDashboardShowsScaleUp(t *testing.T) {
	needRoot(t)
	if !fileExists(chromiumPath) {
		t.Skip("needs " + chromiumPath + " (Debian package chromium) to load the dashboard headless")
	}
	adminAddr := freePort(t)
	d := startDaemon(t, "--admin-listen", adminAddr)
	if got := d.info(t).AdminAddr; got != adminAddr {
		t.Errorf("GET /v1/info admin_addr = %q, want %q", got, adminAddr)
	}
	admin := "http://" + adminAddr
	app := d.deploy(filepath.Join(repoRoot, "examples", "autoscale-cpu"), "app:app", "--name", "dash")

	longDone := make(chan struct{})
	go func() {
		defer close(longDone)
		_, _, _ = d.get(app.ID, "/load/150000000")
	}()
	eventually(t, 45*time.Second, "two ready replicas", func() bool {
		st := d.status(app.ID)
		return st.Ready == 2 && len(st.Replicas) == 2
	})

	// The metrics and the read-only rule, on the real listener.
	metrics := httpGet(t, admin+"/metrics")
	for _, want := range []string{
		fmt.Sprintf("fnrun_app_replicas_desired{app=%q} 2", app.ID),
		fmt.Sprintf("fnrun_app_scaling_events_total{app=%q,direction=\"up\"} ", app.ID),
		"fnrun_replica_cpu_utilization_percent{app=\"" + app.ID + "\",replica=",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}
	if strings.Contains(metrics, fmt.Sprintf("fnrun_app_scaling_events_total{app=%q,direction=\"up\"} 0\n", app.ID)) {
		t.Errorf("/metrics counts no scale-up of %s:\n%s", app.ID, metrics)
	}
	for _, method := range []string{http.MethodPost, http.MethodDelete} {
		req, _ := http.NewRequest(method, admin+"/api/apps", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /api/apps on the admin listener = %d, want 405", method, resp.StatusCode)
		}
	}

	ctx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Env("TMPDIR="+t.TempDir()), // chromium leaves its shared-memory dirs there
		chromedp.WindowSize(1400, 1100),
	)...)
	defer cancel()
	ctx, cancelTab := chromedp.NewContext(ctx)
	defer cancelTab()
	if err := chromedp.Do(ctx, chromedp.Navigate(admin+"/")); err != nil {
		t.Fatalf("open the dashboard: %v", err)
	}
	cpuChart := fmt.Sprintf(`document.querySelector('.chart[data-chart="cpu"][data-app=%q]')`, app.ID)
	waitCtx, cancelWait := context.WithTimeout(ctx, 30*time.Second)
	defer cancelWait()
	series, err := chromedp.Run(waitCtx, chromedp.Poll[string](
		fmt.Sprintf(`(function () { var e = %s; return e && e.querySelector("canvas") && e.getAttribute("data-series") === "2" ? "2" : ""; })()`, cpuChart),
		chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second)))
	if err != nil || series != "2" {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(function () { var e = %s; return e ? e.outerHTML.slice(0, 300) : "no CPU chart"; })()`, cpuChart)))
		t.Fatalf("the CPU chart of %s never showed two replica series (%v): %s", app.ID, err, got)
	}
	// The legend names both replicas (and the target line).
	legend, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(
		`Array.from(%s.querySelectorAll(".u-legend .u-series .u-label")).map(function (l) { return l.textContent; })`, cpuChart)))
	if err != nil {
		t.Fatalf("read the CPU chart's legend: %v", err)
	}
	st := d.status(app.ID)
	for _, r := range st.Replicas {
		if !slices.Contains(legend, r.Hostname) {
			t.Errorf("CPU chart legend %v lacks replica %s", legend, r.Hostname)
		}
	}
	if !slices.Contains(legend, "target") {
		t.Errorf("CPU chart legend %v lacks the target line", legend)
	}

	// One more sample, while the long request still keeps the first replica busy.
	time.Sleep(time.Second)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("FNRUN_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "dashboard-scale-up.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("dashboard screenshot: %s", path)
	<-longDone
}

// TestLogsFollowSeesNewReplica: `fnrun logs -f` started before a replica exists prints that
// replica's lines as they come.
func TestLogsFollowSeesNewReplica(t *testing.T) {
	d := startDaemon(t, "--admin-listen", "")
	dir := spinApp(t, "instance: C1\ncommand: [/bin/sh, -c, \"echo replica up; exec ./spinserver\"]\n")
	app := d.deploy(dir, "--name", "follow")
	old := app.Replicas[0]

	var out syncBuffer
	cmd := exec.Command(bins.fnrun, "--socket", d.socket, "logs", "-f", app.ID)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("fnrun logs -f exited with %v after SIGINT:\n%s", err, out.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("fnrun logs -f did not stop within 10s of SIGINT")
		}
	}()
	eventually(t, 10*time.Second, "the follower to print the first replica's line", func() bool {
		return strings.Contains(out.String(), old.Hostname+" | replica up")
	})

	if err := syscall.Kill(old.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("kill replica %s: %v", old.Hostname, err)
	}
	var fresh string
	eventually(t, 30*time.Second, "a replacement replica", func() bool {
		for _, r := range d.status(app.ID).Replicas {
			if r.Hostname != old.Hostname && r.State == "Ready" {
				fresh = r.Hostname
				return true
			}
		}
		return false
	})
	eventually(t, 10*time.Second, "the follower to print the new replica's line", func() bool {
		return strings.Contains(out.String(), fresh+" | replica up")
	})
	select {
	case err := <-exited:
		t.Fatalf("fnrun logs -f exited early (%v):\n%s", err, out.String())
	default:
	}
}

// syncBuffer is a bytes.Buffer safe for a process's output and a test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// infoJSON is the part of GET /v1/info the tests read.
type infoJSON struct {
	AdminAddr string `json:"admin_addr"`
}

// info asks the daemon's API socket for GET /v1/info.
func (d *daemon) info(t *testing.T) infoJSON {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.socket)
		},
	}}
	var i infoJSON
	if err := json.Unmarshal([]byte(httpGetWith(t, c, "http://fnrund/v1/info")), &i); err != nil {
		t.Fatalf("decode /v1/info: %v", err)
	}
	return i
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	return httpGetWith(t, http.DefaultClient, url)
}

func httpGetWith(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, err, b)
	}
	return string(b)
}
