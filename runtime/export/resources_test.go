package export

import (
	"testing"

	"github.com/fnrun/fnrun/runtime"
)

func TestResourcesPerInstance(t *testing.T) {
	tests := []struct {
		instance, cpu, memory string
	}{
		{"C1", "100m", "214748364"}, // 0.2 GiB is not a whole number of KiB: exact bytes
		{"C2", "500m", "1Gi"},
		{"C3", "1", "2Gi"},
		{"C4", "2", "4Gi"},
		{"C5", "4", "8Gi"},
		{"C6", "8", "16Gi"},
		{"C7", "16", "32Gi"},
		{"C8", "32", "64Gi"},
	}
	for _, tt := range tests {
		t.Run(tt.instance, func(t *testing.T) {
			inst, err := runtime.LookupInstance(tt.instance)
			if err != nil {
				t.Fatal(err)
			}
			r := Resources(inst)
			for name, list := range map[string]map[string]string{
				"requests": {"cpu": r.Requests.Cpu().String(), "memory": r.Requests.Memory().String()},
				"limits":   {"cpu": r.Limits.Cpu().String(), "memory": r.Limits.Memory().String()},
			} {
				if list["cpu"] != tt.cpu || list["memory"] != tt.memory {
					t.Errorf("%s = cpu %s memory %s, want cpu %s memory %s", name, list["cpu"], list["memory"], tt.cpu, tt.memory)
				}
			}
			if got := r.Requests.Memory().Value(); got != inst.MemoryBytes {
				t.Errorf("memory = %d bytes, want %d", got, inst.MemoryBytes)
			}
			// Through the whole Kubernetes export too.
			in := withManifest(autoscaleCPU(), func(m *runtime.Manifest) { m.Instance = tt.instance })
			app, err := KubernetesObjects(in)
			if err != nil {
				t.Fatalf("KubernetesObjects: %v", err)
			}
			c := app.Deployment.Spec.Template.Spec.Containers[0]
			if c.Resources.Limits.Cpu().String() != tt.cpu || c.Resources.Limits.Memory().String() != tt.memory {
				t.Errorf("deployment limits = %s %s", c.Resources.Limits.Cpu(), c.Resources.Limits.Memory())
			}
		})
	}
}
