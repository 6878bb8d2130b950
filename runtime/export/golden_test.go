package export

import (
	"testing"
	"time"

	"github.com/fnrun/fnrun/runtime"
)

func TestGolden(t *testing.T) {
	concurrencyToZero := withManifest(autoscaleCPU(), func(m *runtime.Manifest) {
		m.Instance = "C1"
		m.Timeout = 30
		m.Autoscale = runtime.Autoscale{Min: 0, Max: 5, Metric: "concurrency", Target: 8, ScaleDownWindow: runtime.Duration(2 * time.Minute)}
		m.Env = map[string]string{"GREETING": "hi", "A_FIRST": "1"}
		m.Health = "/healthz"
	})
	healthEnv := withManifest(autoscaleCPU(), func(m *runtime.Manifest) {
		m.Instance = "C2"
		m.Autoscale.Metric = "memory"
		m.Autoscale.Target = 60
		m.Env = map[string]string{"ZED": "last", "DB_URL": "postgres://db/app", "PORT": "9999"}
		m.Health = "/healthz"
	})
	healthEnv.Revision = "autoscale-cpu-7"

	tests := []struct {
		name   string
		render func() ([]byte, error)
	}{
		{"kubernetes-autoscale-cpu", func() ([]byte, error) { return Kubernetes(autoscaleCPU()) }},
		{"knative-autoscale-cpu", func() ([]byte, error) { return Knative(autoscaleCPU()) }},
		{"kubernetes-memory-health-env", func() ([]byte, error) { return Kubernetes(healthEnv) }},
		{"knative-memory-health-env", func() ([]byte, error) { return Knative(healthEnv) }},
		{"knative-concurrency-to-zero", func() ([]byte, error) { return Knative(concurrencyToZero) }},
		{"dockerfile-asgi", func() ([]byte, error) { return []byte(Dockerfile(autoscaleCPU(), nil)), nil }},
		{"dockerfile-command", func() ([]byte, error) {
			in := autoscaleCPU()
			in.Entrypoint = ""
			return []byte(Dockerfile(in, []string{"python3", "server.py", "--port=$PORT", "it's"})), nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.render()
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			golden(t, tt.name, got)
		})
	}
}
