package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fnrun/fnrun/scheduler"
)

// testServer is an admin handler over fakes with one app, "a", sampled twice.
func testServer(t *testing.T) *httptest.Server {
	t.Helper()
	apps, rt, clk := &fakeApps{}, &fakeStats{}, &fakeClock{t: t0}
	st := app("a", 40, 2, map[string]float64{"a-1": 97, "a-2": 3})
	st.Decisions = []scheduler.Decision{{Time: t0, Current: 1, Desired: 2, Reason: "cpu 97% > target 40%"},
		{Time: t0.Add(time.Second), Current: 2, Desired: 2, Reason: "cpu 50% within tolerance"}}
	apps.set(st)
	rt.set("a", stats(map[int]uint64{2: 5, 9: 1}, 0.6))
	srv := New(Config{Apps: apps, Stats: rt, Now: clk.now})
	srv.Sampler().Sample()
	clk.advance(time.Second)
	rt.set("a", stats(map[int]uint64{2: 8, 9: 2}, 1.2))
	srv.Sampler().Sample()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func TestAdminIsReadOnly(t *testing.T) {
	ts := testServer(t)
	for _, method := range []string{http.MethodPost, http.MethodDelete, http.MethodPut, http.MethodPatch} {
		for _, path := range []string{"/", "/metrics", "/api/apps", "/api/apps/a/history", "/v1/deploy", "/v1/apps/a", "/nope"} {
			req, err := http.NewRequest(method, ts.URL+path, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s = %d, want 405", method, path, resp.StatusCode)
			}
			if allow := resp.Header.Get("Allow"); allow != "GET, HEAD" {
				t.Errorf("%s %s: Allow = %q, want \"GET, HEAD\"", method, path, allow)
			}
		}
	}
}

func TestDashboardAndAssets(t *testing.T) {
	ts := testServer(t)
	code, hdr, body := get(t, ts.URL+"/")
	if code != 200 || !strings.Contains(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", code, hdr.Get("Content-Type"))
	}
	for _, want := range []string{"/assets/vendor/uPlot.iife.min.js", "/assets/dashboard.js", "/assets/vendor/uPlot.min.css"} {
		if !strings.Contains(body, want) {
			t.Errorf("index.html lacks %s", want)
		}
		if c, _, b := get(t, ts.URL+want); c != 200 || len(b) < 100 {
			t.Errorf("GET %s = %d, %d bytes", want, c, len(b))
		}
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Error("index.html refers to another origin; the dashboard must work offline")
	}
	if c, _, _ := get(t, ts.URL+"/nope"); c != 404 {
		t.Errorf("GET /nope = %d, want 404", c)
	}
}

func TestAPIApps(t *testing.T) {
	ts := testServer(t)
	code, _, body := get(t, ts.URL+"/api/apps")
	if code != 200 {
		t.Fatalf("GET /api/apps = %d %s", code, body)
	}
	var apps []AppSummary
	if err := json.Unmarshal([]byte(body), &apps); err != nil {
		t.Fatal(err)
	}
	if len(apps) != 1 || apps[0].ID != "a" || len(apps[0].Replicas) != 2 || apps[0].Target != 40 || apps[0].Metric != "cpu" {
		t.Fatalf("apps = %+v", apps)
	}
	if d := apps[0].LastScale; d == nil || d.Desired != 2 || d.Reason == "" {
		t.Errorf("last scale = %+v, want the 1 → 2 decision", d)
	}
	if d := apps[0].Autoscaler; d == nil || d.Current != 2 || d.Desired != 2 {
		t.Errorf("autoscaler now = %+v, want the 2 → 2 reasoning", d)
	}
}

func TestAPIHistory(t *testing.T) {
	ts := testServer(t)
	code, _, body := get(t, ts.URL+"/api/apps/a/history")
	if code != 200 {
		t.Fatalf("GET history = %d %s", code, body)
	}
	var h History
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatal(err)
	}
	if len(h.T) != 2 || len(h.Replicas) != 2 || len(h.CPU) != 2 || len(h.CPU[0]) != 2 {
		t.Fatalf("history = %+v, want 2 points of 2 replicas", h)
	}
	if h.RPS[1] != 4 {
		t.Errorf("rps = %v, want 4 (4 more requests in 1 s)", h.RPS)
	}
	if c, _, _ := get(t, ts.URL+"/api/apps/nope/history"); c != 404 {
		t.Errorf("history of an unknown app = %d, want 404", c)
	}
}
