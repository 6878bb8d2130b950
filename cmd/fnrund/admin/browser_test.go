package admin

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fnrun/fnrun/scheduler"
)

const chromiumPath = "/usr/bin/chromium"

// TestDashboardInBrowser loads the dashboard over a minute of fake history, in which a second
// replica appears, in headless Chromium: the app's CPU chart must draw two replica series.
func TestDashboardInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip("needs " + chromiumPath + " (Debian package chromium) to load the dashboard headless")
	}
	apps, rt, clk := &fakeApps{}, &fakeStats{}, &fakeClock{t: time.Now().Add(-time.Minute)}
	srv := New(Config{Apps: apps, Stats: rt, Now: clk.now})
	for i := 0; i < 60; i++ {
		cpu := map[string]float64{"web-1111111111-00001-aaaaa": min(5+float64(i)*4, 99)}
		desired := 1
		if i >= 20 {
			desired = 2
			cpu["web-1111111111-00001-bbbbb"] = min(float64(i-20)*3, 60)
		}
		st := app("web-1111111111", 40, desired, cpu)
		if i >= 20 {
			st.Decisions = []scheduler.Decision{{Time: clk.t, Current: 1, Desired: 2, Reason: "cpu 85% of C3 > target 40% on 1 ready replica → 2 (max 2)"}}
		}
		apps.set(st)
		rt.set("web-1111111111", stats(map[int]uint64{3: uint64(i * 10), 8: uint64(i * 2)}, float64(i)))
		srv.Sampler().Sample()
		clk.advance(time.Second)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	ctx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.Env("TMPDIR="+t.TempDir()), chromedp.WindowSize(1400, 1000))...)
	defer cancel()
	ctx, cancelTab := chromedp.NewContext(ctx)
	defer cancelTab()
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/")); err != nil {
		t.Fatalf("open the dashboard: %v", err)
	}
	sel := `document.querySelector('.chart[data-chart="cpu"][data-app="web-1111111111"]')`
	got, err := chromedp.Run(ctx, chromedp.Poll[string](
		fmt.Sprintf(`(function () { var e = %s; return e && e.querySelector("canvas") ? e.getAttribute("data-series") : ""; })()`, sel),
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatalf("the CPU chart never rendered: %v", err)
	}
	if got != "2" {
		t.Errorf("CPU chart data-series = %q, want 2", got)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".chart canvas").length`)); err != nil || n != 4 {
		t.Errorf("the app shows %d charts (%v), want 4: CPU, replicas, requests, latency", n, err)
	}
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
	path := filepath.Join(dir, "dashboard-fake.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("dashboard screenshot: %s", path)
}
