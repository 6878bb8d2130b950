package export

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/fnrun/fnrun/runtime"
)

// decodeKnative strictly decodes Knative output into KnativeService.
func decodeKnative(t *testing.T, out []byte) KnativeService {
	t.Helper()
	if docs := splitDocs(t, out); len(docs) != 1 {
		t.Fatalf("knative output has %d documents, want 1", len(docs))
	}
	var svc KnativeService
	if err := yaml.UnmarshalStrict(out, &svc); err != nil {
		t.Fatalf("strict decode: %v\n%s", err, out)
	}
	return svc
}

func TestKnativeStrictDecodeRejectsUnknownFields(t *testing.T) {
	var svc KnativeService
	err := yaml.UnmarshalStrict([]byte("apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      timeoutSecond: 3\n      containers: []\n"), &svc)
	if err == nil || !strings.Contains(err.Error(), "timeoutSecond") {
		t.Fatalf("err = %v, want an unknown-field error naming timeoutSecond", err)
	}
}

func TestKnativeAutoscaleCPU(t *testing.T) {
	out, err := Knative(autoscaleCPU())
	if err != nil {
		t.Fatalf("Knative: %v", err)
	}
	svc := decodeKnative(t, out)
	if svc.APIVersion != "serving.knative.dev/v1" || svc.Kind != "Service" || svc.Name != "autoscale-cpu" {
		t.Errorf("type/name = %s %s %s", svc.APIVersion, svc.Kind, svc.Name)
	}
	want := map[string]string{
		"autoscaling.knative.dev/class":     "hpa.autoscaling.knative.dev",
		"autoscaling.knative.dev/min-scale": "1",
		"autoscaling.knative.dev/max-scale": "2",
		"autoscaling.knative.dev/metric":    "cpu",
		"autoscaling.knative.dev/target":    "40",
	}
	checkAnnotations(t, svc.Spec.Template.Annotations, want)
	spec := svc.Spec.Template.Spec
	if spec.TimeoutSeconds == nil || *spec.TimeoutSeconds != 120 {
		t.Errorf("timeoutSeconds = %v, want 120", spec.TimeoutSeconds)
	}
	if spec.ContainerConcurrency != nil {
		t.Errorf("containerConcurrency = %d, want unset for cpu", *spec.ContainerConcurrency)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	if c.Image != "autoscale-cpu:latest" || c.Resources.Limits.Cpu().String() != "1" || c.Resources.Requests.Memory().String() != "2Gi" {
		t.Errorf("container = image %s limits.cpu %s requests.memory %s", c.Image, c.Resources.Limits.Cpu(), c.Resources.Requests.Memory())
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("ports = %+v, want one containerPort 8080", c.Ports)
	}
	for _, e := range c.Env {
		if reservedEnv[e.Name] {
			t.Errorf("env sets %s, which Knative reserves", e.Name)
		}
	}
}

func TestKnativeMetrics(t *testing.T) {
	tests := []struct {
		name            string
		edit            func(m *runtime.Manifest)
		wantAnnotations map[string]string
		wantAbsent      []string
		wantConcurrency int64 // 0: unset
		wantTimeout     int64
		wantNote        string
	}{
		{
			name: "rps scales to zero with the KPA",
			edit: func(m *runtime.Manifest) {
				m.Autoscale = runtime.Autoscale{Min: 0, Max: 4, Metric: "rps", Target: 150, ScaleDownWindow: durationOf("45s")}
				m.Timeout = 300
			},
			wantAnnotations: map[string]string{
				AnnotationClass: ClassKPA, AnnotationMinScale: "0", AnnotationMaxScale: "4",
				AnnotationMetric: "rps", AnnotationTarget: "150", AnnotationScaleDownDelay: "45s",
			},
			wantTimeout: 300,
		},
		{
			name: "concurrency sets containerConcurrency",
			edit: func(m *runtime.Manifest) {
				m.Autoscale = runtime.Autoscale{Min: 2, Max: 3, Metric: "concurrency", Target: 10}
			},
			wantAnnotations: map[string]string{
				AnnotationClass: ClassKPA, AnnotationMinScale: "2", AnnotationMaxScale: "3",
				AnnotationMetric: "concurrency", AnnotationTarget: "10", AnnotationScaleDownDelay: "0s",
			},
			wantConcurrency: 10,
			wantTimeout:     120,
		},
		{
			name: "memory target becomes MiB",
			edit: func(m *runtime.Manifest) {
				m.Instance = "C4" // 4 GiB
				m.Autoscale.Metric = "memory"
				m.Autoscale.Target = 50
			},
			wantAnnotations: map[string]string{AnnotationClass: ClassHPA, AnnotationMetric: "memory", AnnotationTarget: "2048"},
			wantAbsent:      []string{AnnotationScaleDownDelay},
			wantTimeout:     120,
			wantNote:        "2048 MiB",
		},
		{
			name:            "cpu min 0 becomes 1 on the HPA class",
			edit:            func(m *runtime.Manifest) { m.Autoscale.Min = 0 },
			wantAnnotations: map[string]string{AnnotationClass: ClassHPA, AnnotationMinScale: "1"},
			wantTimeout:     120,
			wantNote:        "autoscale.min 0 became min-scale 1",
		},
		{
			name:            "long timeout is kept and noted",
			edit:            func(m *runtime.Manifest) { m.Timeout = 900 },
			wantAnnotations: map[string]string{AnnotationClass: ClassHPA},
			wantTimeout:     900,
			wantNote:        "max-revision-timeout-seconds",
		},
		{
			name: "scale-down delay is capped at an hour",
			edit: func(m *runtime.Manifest) {
				m.Autoscale = runtime.Autoscale{Min: 0, Max: 1, Metric: "rps", Target: 1, ScaleDownWindow: durationOf("3h")}
			},
			wantAnnotations: map[string]string{AnnotationScaleDownDelay: "1h0m0s"},
			wantTimeout:     120,
			wantNote:        "longer than Knative accepts",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Knative(withManifest(autoscaleCPU(), tt.edit))
			if err != nil {
				t.Fatalf("Knative: %v", err)
			}
			svc := decodeKnative(t, out)
			ann := svc.Spec.Template.Annotations
			checkAnnotations(t, ann, tt.wantAnnotations)
			for _, k := range tt.wantAbsent {
				if v, ok := ann[k]; ok {
					t.Errorf("annotation %s = %q, want none", k, v)
				}
			}
			spec := svc.Spec.Template.Spec
			switch {
			case tt.wantConcurrency == 0 && spec.ContainerConcurrency != nil:
				t.Errorf("containerConcurrency = %d, want unset", *spec.ContainerConcurrency)
			case tt.wantConcurrency != 0 && (spec.ContainerConcurrency == nil || *spec.ContainerConcurrency != tt.wantConcurrency):
				t.Errorf("containerConcurrency = %v, want %d", spec.ContainerConcurrency, tt.wantConcurrency)
			}
			if spec.TimeoutSeconds == nil || *spec.TimeoutSeconds != tt.wantTimeout {
				t.Errorf("timeoutSeconds = %v, want %d", spec.TimeoutSeconds, tt.wantTimeout)
			}
			if tt.wantNote != "" && !strings.Contains(string(out), tt.wantNote) {
				t.Errorf("output lacks a comment with %q:\n%s", tt.wantNote, out)
			}
		})
	}
}

func checkAnnotations(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, got[k], v)
		}
	}
}

// An h2c app (a gRPC server, say) is declared as such to Knative (port name) and Kubernetes
// (Service appProtocol); an HTTP/1.1 app is not.
func TestH2CProtocolIsExported(t *testing.T) {
	for _, tc := range []struct {
		protocol, wantPort string
		wantAppProtocol    string
	}{
		{"", "http1", ""},
		{"http1", "http1", ""},
		{"h2c", "h2c", "kubernetes.io/h2c"},
	} {
		in := withManifest(autoscaleCPU(), func(m *runtime.Manifest) { m.Protocol = tc.protocol })
		out, err := Knative(in)
		if err != nil {
			t.Fatalf("Knative: %v", err)
		}
		if got := decodeKnative(t, out).Spec.Template.Spec.Containers[0].Ports[0].Name; got != tc.wantPort {
			t.Errorf("protocol %q: Knative port name %q, want %q", tc.protocol, got, tc.wantPort)
		}
		k, err := KubernetesObjects(in)
		if err != nil {
			t.Fatalf("KubernetesObjects: %v", err)
		}
		got := ""
		if p := k.Service.Spec.Ports[0].AppProtocol; p != nil {
			got = *p
		}
		if got != tc.wantAppProtocol || k.Deployment.Spec.Template.Spec.Containers[0].Ports[0].Name != tc.wantPort {
			t.Errorf("protocol %q: Service appProtocol %q, container port %q; want %q, %q", tc.protocol, got,
				k.Deployment.Spec.Template.Spec.Containers[0].Ports[0].Name, tc.wantAppProtocol, tc.wantPort)
		}
	}
}
