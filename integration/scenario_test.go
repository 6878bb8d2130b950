package integration

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadAnswer is the JSON of the example's /load/{count}.
type loadAnswer struct {
	CPUTime  float64 `json:"cpu_time"`
	Result   int64   `json:"result"`
	Hostname string  `json:"hostname"`
}

// TestUserScenarioAutoscaleCPU is the user's scenario with examples/autoscale-cpu: deploy →
// table → /load/1000000 → a long request → a second replica → two hostnames in a request loop
// → back to one replica after the load.
func TestUserScenarioAutoscaleCPU(t *testing.T) {
	d := startDaemon(t)
	dir := filepath.Join(repoRoot, "examples", "autoscale-cpu")
	// The user's table first (plain output).
	table := d.mustFnrun(dir, "deploy", "app:app", "--name", "fastapi")
	for _, want := range []string{"App ID", "Phase", "Serving", "Endpoint", ".localhost:", "Base credits (per hour)", "Swagger UI", "/docs", "OpenAPI JSON", "/openapi.json"} {
		if !strings.Contains(table, want) {
			t.Errorf("deploy table lacks %q:\n%s", want, table)
		}
	}
	t.Logf("deploy printed:\n%s", table)
	apps := d.list()
	if len(apps) != 1 {
		t.Fatalf("list shows %d apps, want 1", len(apps))
	}
	id := apps[0].ID
	if !strings.HasPrefix(id, "fastapi-") || len(id) != len("fastapi-")+10 {
		t.Errorf("app id %q is not fastapi-<10 hex>", id)
	}

	load := func(count string) loadAnswer {
		t.Helper()
		code, body, err := d.get(id, "/load/"+count)
		if err != nil || code != 200 {
			t.Fatalf("/load/%s: %d %v %s", count, code, err, body)
		}
		var a loadAnswer
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			t.Fatalf("decode %q: %v", body, err)
		}
		return a
	}
	first := load("1000000")
	if first.Result != 499999500000 || !strings.HasPrefix(first.Hostname, id+"-") {
		t.Fatalf("/load/1000000 = %+v, want result 499999500000 and a hostname of the app", first)
	}

	// A long request keeps the replica's core busy (about 10-20 s of pure Python).
	start := time.Now()
	longDone := make(chan struct{})
	go func() {
		defer close(longDone)
		_, _, _ = d.get(id, "/load/150000000")
	}()
	eventually(t, 15*time.Second, "a second replica to be desired", func() bool { return d.status(id).Desired == 2 })
	t.Logf("scale decision %.1fs after the load started", time.Since(start).Seconds())
	st := d.status(id)
	if n := len(st.Decisions); n == 0 || !strings.Contains(st.Decisions[n-1].Reason, "cpu") {
		t.Errorf("decisions lack a cpu reason: %+v", st.Decisions)
	}

	// A request every 0.5 s sees two hostnames.
	seen := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for len(seen) < 2 && time.Now().Before(deadline) {
		seen[load("1000000").Hostname] = true
		time.Sleep(500 * time.Millisecond)
	}
	if len(seen) < 2 {
		t.Fatalf("the request loop saw only %v within 30s", seen)
	}
	t.Logf("two hostnames %.1fs after the load started: %v", time.Since(start).Seconds(), seen)
	<-longDone

	// After the load, back to one replica once the scale-down window (30 s) has passed.
	eventually(t, 75*time.Second, "the app back at one replica", func() bool {
		st := d.status(id)
		return st.Desired == 1 && len(st.Replicas) == 1
	})
	t.Logf("back to one replica %.1fs after the load started", time.Since(start).Seconds())
}
