package export

import (
	"errors"
	"strings"
	"testing"

	"github.com/fnrun/fnrun/runtime"
)

func TestKubernetesNeedsKnative(t *testing.T) {
	tests := []struct {
		name     string
		metric   string
		min      int
		wantText []string
	}{
		{"rps", "rps", 1, []string{"autoscale-cpu", "rps", "--kind knative"}},
		{"concurrency", "concurrency", 1, []string{"concurrency", "--kind knative"}},
		{"rps to zero", "rps", 0, []string{"scale to zero (min 0)", "--kind knative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := withManifest(autoscaleCPU(), func(m *runtime.Manifest) {
				m.Autoscale.Metric = tt.metric
				m.Autoscale.Min = tt.min
			})
			out, err := Kubernetes(in)
			if !errors.Is(err, ErrNeedsKnative) {
				t.Fatalf("err = %v (output %d bytes), want ErrNeedsKnative", err, len(out))
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if _, err := Knative(in); err != nil {
				t.Errorf("Knative of the same app: %v", err)
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	tests := []struct {
		name string
		in   func() Input
		want string
	}{
		{"name with underscore", func() Input { in := autoscaleCPU(); in.Name = "my_app"; return in }, "not a DNS label"},
		{"name starting with a digit", func() Input { in := autoscaleCPU(); in.Name = "1app"; return in }, "not a DNS label"},
		{"empty name", func() Input { in := autoscaleCPU(); in.Name = ""; return in }, "not a DNS label"},
		{"no image", func() Input { in := autoscaleCPU(); in.Image = ""; return in }, "no image"},
		{"no manifest", func() Input { in := autoscaleCPU(); in.Manifest = nil; return in }, "no manifest"},
		{"unknown instance", func() Input {
			return withManifest(autoscaleCPU(), func(m *runtime.Manifest) { m.Instance = "C9" })
		}, "C9"},
		{"min above max", func() Input {
			return withManifest(autoscaleCPU(), func(m *runtime.Manifest) { m.Autoscale.Min = 3 })
		}, "min 3 is above max 2"},
		{"max 0", func() Input {
			return withManifest(autoscaleCPU(), func(m *runtime.Manifest) { m.Autoscale.Min, m.Autoscale.Max = 0, 0 })
		}, "max 0"},
		{"target 0", func() Input {
			return withManifest(autoscaleCPU(), func(m *runtime.Manifest) { m.Autoscale.Target = 0 })
		}, "target 0"},
		{"unknown metric", func() Input {
			return withManifest(autoscaleCPU(), func(m *runtime.Manifest) { m.Autoscale.Metric = "gpu" })
		}, `"gpu"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for kind, render := range map[string]func(Input) ([]byte, error){"kubernetes": Kubernetes, "knative": Knative} {
				_, err := render(tt.in())
				if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s: err = %v, want ErrInvalidInput mentioning %q", kind, err, tt.want)
				}
			}
		})
	}
}

func TestParseKindAndRender(t *testing.T) {
	tests := []struct {
		in   string
		want Kind
		file string
	}{
		{"kubernetes", KindKubernetes, "kubernetes.yaml"},
		{"K8S", KindKubernetes, "kubernetes.yaml"},
		{"knative", KindKnative, "knative.yaml"},
		{"kn", KindKnative, "knative.yaml"},
	}
	for _, tt := range tests {
		k, err := ParseKind(tt.in)
		if err != nil || k != tt.want || k.FileName() != tt.file {
			t.Errorf("ParseKind(%q) = %q (%s), %v; want %q (%s)", tt.in, k, k.FileName(), err, tt.want, tt.file)
		}
		out, err := Render(k, autoscaleCPU())
		if err != nil {
			t.Fatalf("Render(%s): %v", k, err)
		}
		wantAPI := map[Kind]string{KindKubernetes: "apiVersion: apps/v1", KindKnative: "apiVersion: serving.knative.dev/v1"}[k]
		if !strings.Contains(string(out), wantAPI) {
			t.Errorf("Render(%s) lacks %q", k, wantAPI)
		}
	}
	if _, err := ParseKind("nomad"); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("ParseKind(nomad) err = %v, want ErrInvalidInput", err)
	}
	if _, err := Render(Kind("nomad"), autoscaleCPU()); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("Render(nomad) err = %v, want ErrInvalidInput", err)
	}
}
