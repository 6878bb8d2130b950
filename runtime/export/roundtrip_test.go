package export

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
)

// strictDecoder decodes YAML into apps/v1, core/v1 and autoscaling/v2 objects and fails on unknown or duplicate fields.
func strictDecoder(t *testing.T) k8sruntime.Decoder {
	t.Helper()
	scheme := k8sruntime.NewScheme()
	for _, add := range []func(*k8sruntime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme, autoscalingv2.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatalf("build scheme: %v", err)
		}
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Yaml: true, Strict: true})
}

// decodeKubernetes strictly decodes the stream Kubernetes(in) writes.
func decodeKubernetes(t *testing.T, stream []byte) (*appsv1.Deployment, *corev1.Service, *autoscalingv2.HorizontalPodAutoscaler) {
	t.Helper()
	dec := strictDecoder(t)
	docs := splitDocs(t, stream)
	if len(docs) != 3 {
		t.Fatalf("stream has %d documents, want 3 (Deployment, Service, HPA)", len(docs))
	}
	var objs []k8sruntime.Object
	for i, d := range docs {
		obj, gvk, err := dec.Decode(d, nil, nil)
		if err != nil {
			t.Fatalf("strict decode of document %d: %v\n%s", i+1, err, d)
		}
		if gvk.Kind == "" || gvk.Version == "" {
			t.Fatalf("document %d has no apiVersion/kind", i+1)
		}
		objs = append(objs, obj)
	}
	dep, ok := objs[0].(*appsv1.Deployment)
	if !ok {
		t.Fatalf("document 1 is %T, want *appsv1.Deployment", objs[0])
	}
	svc, ok := objs[1].(*corev1.Service)
	if !ok {
		t.Fatalf("document 2 is %T, want *corev1.Service", objs[1])
	}
	hpa, ok := objs[2].(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		t.Fatalf("document 3 is %T, want *autoscalingv2.HorizontalPodAutoscaler", objs[2])
	}
	return dep, svc, hpa
}

func TestStrictDecoderRejectsUnknownFields(t *testing.T) {
	doc := "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  portz: []\n"
	if _, _, err := strictDecoder(t).Decode([]byte(doc), nil, nil); err == nil || !strings.Contains(err.Error(), "portz") {
		t.Fatalf("decode of an unknown field: err = %v, want a strict-decoding error naming portz", err)
	}
}

func TestKubernetesRoundTripAutoscaleCPU(t *testing.T) {
	in := autoscaleCPU()
	in.Manifest.Env = map[string]string{"B": "2", "A": "1"}
	in.Manifest.Health = "/healthz"
	out, err := Kubernetes(in)
	if err != nil {
		t.Fatalf("Kubernetes: %v", err)
	}
	dep, svc, hpa := decodeKubernetes(t, out)

	wantLabels := map[string]string{"app.kubernetes.io/name": "autoscale-cpu", "app.kubernetes.io/managed-by": "fnrun"}
	for _, o := range []struct {
		kind   string
		name   string
		labels map[string]string
	}{{"Deployment", dep.Name, dep.Labels}, {"Service", svc.Name, svc.Labels}, {"HPA", hpa.Name, hpa.Labels}} {
		if o.name != "autoscale-cpu" {
			t.Errorf("%s name = %q, want autoscale-cpu", o.kind, o.name)
		}
		for k, v := range wantLabels {
			if o.labels[k] != v {
				t.Errorf("%s label %s = %q, want %q", o.kind, k, o.labels[k], v)
			}
		}
	}

	// Deployment
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 1 {
		t.Errorf("replicas = %v, want 1 (autoscale.min)", dep.Spec.Replicas)
	}
	if got := dep.Spec.Selector.MatchLabels["app.kubernetes.io/name"]; got != "autoscale-cpu" {
		t.Errorf("selector app.kubernetes.io/name = %q", got)
	}
	if got := dep.Spec.Template.Labels["app.kubernetes.io/name"]; got != "autoscale-cpu" {
		t.Errorf("pod label app.kubernetes.io/name = %q", got)
	}
	if ru := dep.Spec.Strategy.RollingUpdate; dep.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil ||
		ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 || ru.MaxSurge == nil || ru.MaxSurge.IntValue() != 1 {
		t.Errorf("strategy = %+v, want RollingUpdate maxUnavailable 0 maxSurge 1", dep.Spec.Strategy)
	}
	if g := dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g != 120 {
		t.Errorf("terminationGracePeriodSeconds = %v, want 120 (timeout)", g)
	}
	cs := dep.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("%d containers, want 1", len(cs))
	}
	c := cs[0]
	if c.Image != "autoscale-cpu:latest" {
		t.Errorf("image = %q", c.Image)
	}
	for _, rl := range []struct {
		name string
		list corev1.ResourceList
	}{{"requests", c.Resources.Requests}, {"limits", c.Resources.Limits}} {
		if got := rl.list.Cpu().String(); got != "1" {
			t.Errorf("%s cpu = %s, want 1", rl.name, got)
		}
		if got := rl.list.Memory().String(); got != "2Gi" {
			t.Errorf("%s memory = %s, want 2Gi", rl.name, got)
		}
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("ports = %+v, want containerPort 8080", c.Ports)
	}
	wantEnv := []string{"PORT=8080", "K_SERVICE=autoscale-cpu", "K_REVISION=autoscale-cpu-00001", "A=1", "B=2"}
	var gotEnv []string
	for _, e := range c.Env {
		gotEnv = append(gotEnv, e.Name+"="+e.Value)
	}
	if strings.Join(gotEnv, " ") != strings.Join(wantEnv, " ") {
		t.Errorf("env = %v, want %v", gotEnv, wantEnv)
	}
	p := c.ReadinessProbe
	if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.IntValue() != 8080 {
		t.Errorf("readinessProbe = %+v, want httpGet /healthz on 8080", p)
	}

	// Service
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 || svc.Spec.Ports[0].TargetPort.IntValue() != 8080 {
		t.Errorf("service ports = %+v, want 80 -> 8080", svc.Spec.Ports)
	}
	if svc.Spec.Selector["app.kubernetes.io/name"] != "autoscale-cpu" {
		t.Errorf("service selector = %v", svc.Spec.Selector)
	}

	// HPA
	ref := hpa.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != "autoscale-cpu" {
		t.Errorf("scaleTargetRef = %+v", ref)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != 1 || hpa.Spec.MaxReplicas != 2 {
		t.Errorf("min/max = %v/%d, want 1/2", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
	if len(hpa.Spec.Metrics) != 1 {
		t.Fatalf("%d metrics, want 1", len(hpa.Spec.Metrics))
	}
	m := hpa.Spec.Metrics[0]
	if m.Type != autoscalingv2.ResourceMetricSourceType || m.Resource == nil || m.Resource.Name != corev1.ResourceCPU {
		t.Fatalf("metric = %+v, want Resource cpu", m)
	}
	if m.Resource.Target.Type != autoscalingv2.UtilizationMetricType || m.Resource.Target.AverageUtilization == nil || *m.Resource.Target.AverageUtilization != 40 {
		t.Errorf("target = %+v, want Utilization 40", m.Resource.Target)
	}
	b := hpa.Spec.Behavior
	if b == nil || b.ScaleDown == nil || b.ScaleDown.StabilizationWindowSeconds == nil || *b.ScaleDown.StabilizationWindowSeconds != 30 {
		t.Errorf("behavior.scaleDown = %+v, want stabilizationWindowSeconds 30", b)
	}
	if b == nil || b.ScaleUp == nil || b.ScaleUp.StabilizationWindowSeconds == nil || *b.ScaleUp.StabilizationWindowSeconds != 1 {
		t.Errorf("behavior.scaleUp = %+v, want stabilizationWindowSeconds 1", b)
	}
}

func TestKubernetesTCPProbeWithoutHealth(t *testing.T) {
	out, err := Kubernetes(autoscaleCPU())
	if err != nil {
		t.Fatalf("Kubernetes: %v", err)
	}
	dep, _, _ := decodeKubernetes(t, out)
	p := dep.Spec.Template.Spec.Containers[0].ReadinessProbe
	if p == nil || p.HTTPGet != nil || p.TCPSocket == nil || p.TCPSocket.Port.IntValue() != 8080 {
		t.Errorf("readinessProbe = %+v, want tcpSocket 8080 only", p)
	}
}

func TestKubernetesMemoryAndWindows(t *testing.T) {
	in := withManifest(autoscaleCPU(), func(m *runtimeManifest) {
		m.Autoscale.Metric = "memory"
		m.Autoscale.Target = 75
		m.Autoscale.Min = 3
		m.Autoscale.Max = 9
		m.Autoscale.ScaleDownWindow = durationOf("1500ms")
	})
	out, err := Kubernetes(in)
	if err != nil {
		t.Fatalf("Kubernetes: %v", err)
	}
	dep, _, hpa := decodeKubernetes(t, out)
	if *dep.Spec.Replicas != 3 || *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 9 {
		t.Errorf("replicas/min/max = %d/%d/%d, want 3/3/9", *dep.Spec.Replicas, *hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
	r := hpa.Spec.Metrics[0].Resource
	if r.Name != corev1.ResourceMemory || *r.Target.AverageUtilization != 75 {
		t.Errorf("metric = %s %d, want memory 75", r.Name, *r.Target.AverageUtilization)
	}
	if got := *hpa.Spec.Behavior.ScaleDown.StabilizationWindowSeconds; got != 2 {
		t.Errorf("scaleDown window = %d s, want 2 (1.5s rounded up)", got)
	}
}

func TestKubernetesMinZeroCPUBecomesOne(t *testing.T) {
	in := withManifest(autoscaleCPU(), func(m *runtimeManifest) { m.Autoscale.Min = 0 })
	out, err := Kubernetes(in)
	if err != nil {
		t.Fatalf("Kubernetes: %v", err)
	}
	dep, _, hpa := decodeKubernetes(t, out)
	if *hpa.Spec.MinReplicas != 1 || *dep.Spec.Replicas != 1 {
		t.Errorf("minReplicas/replicas = %d/%d, want 1/1", *hpa.Spec.MinReplicas, *dep.Spec.Replicas)
	}
	if !strings.Contains(string(out), "# autoscale.min 0 became minReplicas 1") || !strings.Contains(string(out), "--kind knative") {
		t.Errorf("output lacks the YAML comment about min 0:\n%s", out)
	}
}

func TestKubernetesWindowClamp(t *testing.T) {
	in := withManifest(autoscaleCPU(), func(m *runtimeManifest) { m.Autoscale.ScaleDownWindow = durationOf("2h") })
	app, err := KubernetesObjects(in)
	if err != nil {
		t.Fatalf("KubernetesObjects: %v", err)
	}
	if got := *app.HPA.Spec.Behavior.ScaleDown.StabilizationWindowSeconds; got != 3600 {
		t.Errorf("scaleDown window = %d, want 3600", got)
	}
	if len(app.Notes) != 1 || !strings.Contains(app.Notes[0], "scale_down_window 2h0m0s") {
		t.Errorf("notes = %q, want one about the clamped window", app.Notes)
	}
}
