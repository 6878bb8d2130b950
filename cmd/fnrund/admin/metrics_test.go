package admin

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestMetricsScrape scrapes /metrics and checks the series and, with promtool, the format.
func TestMetricsScrape(t *testing.T) {
	ts := testServer(t)
	code, _, body := get(t, ts.URL+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics = %d\n%s", code, body)
	}
	for _, want := range []string{
		`fnrun_replica_cpu_utilization_percent{app="a",replica="a-1"} 97`,
		`fnrun_replica_cpu_utilization_percent{app="a",replica="a-2"} 3`,
		`fnrun_replica_cpu_throttled_seconds_total{app="a",replica="a-1"} 1.5`,
		`fnrun_replica_memory_bytes{app="a",replica="a-1"} 5.24288e+07`,
		`fnrun_app_replicas_desired{app="a"} 2`,
		`fnrun_app_replicas_ready{app="a"} 2`,
		`fnrun_app_requests_total{app="a",code="200"} 10`,
		`fnrun_app_request_duration_seconds_bucket{app="a",le="0.005"} 8`,
		`fnrun_app_request_duration_seconds_bucket{app="a",le="+Inf"} 10`,
		`fnrun_app_request_duration_seconds_count{app="a"} 10`,
		`fnrun_app_request_duration_seconds_sum{app="a"} 1.2`,
		`fnrun_app_scaling_events_total{app="a",direction="up"} 1`,
		`fnrun_app_scaling_events_total{app="a",direction="down"} 0`,
		`fnrun_app_in_flight_requests{app="a"} 0`,
		"# TYPE fnrun_app_request_duration_seconds histogram",
		"# TYPE fnrun_replica_cpu_throttled_seconds_total counter",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "fnrun_") {
			t.Errorf("metric not named fnrun_*: %s", line)
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus): cannot lint the exposition format")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s\nscraped:\n%s", err, out.String(), body)
	}
	if s := strings.TrimSpace(out.String()); s != "" {
		t.Errorf("promtool check metrics reported problems:\n%s", s)
	}
}
