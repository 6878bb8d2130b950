package export

import (
	"fmt"
	"math"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnrun/fnrun/runtime"
)

// KnativeAPIVersion is the apiVersion of a Knative Service.
const KnativeAPIVersion = "serving.knative.dev/v1"

// Knative autoscaling annotations fnrun sets on the revision template, and the two autoscaler classes.
const (
	AnnotationClass          = "autoscaling.knative.dev/class"
	AnnotationMinScale       = "autoscaling.knative.dev/min-scale"
	AnnotationMaxScale       = "autoscaling.knative.dev/max-scale"
	AnnotationMetric         = "autoscaling.knative.dev/metric"
	AnnotationTarget         = "autoscaling.knative.dev/target"
	AnnotationScaleDownDelay = "autoscaling.knative.dev/scale-down-delay"

	// ClassHPA is Knative's Kubernetes-HPA-backed class: cpu and memory, no scale to zero.
	ClassHPA = "hpa.autoscaling.knative.dev"
	// ClassKPA is Knative's own autoscaler: rps and concurrency, scale to zero.
	ClassKPA = "kpa.autoscaling.knative.dev"
)

const (
	// maxScaleDownDelay is the longest scale-down-delay Knative accepts.
	maxScaleDownDelay = time.Hour
	// bytesPerMiB converts memory targets: Knative's HPA class reads them in MiB.
	bytesPerMiB = 1 << 20
	// knativeDefaultMaxTimeout is Knative's default max-revision-timeout-seconds.
	knativeDefaultMaxTimeout = 600
)

// KnativeService is the subset of a serving.knative.dev/v1 Service that fnrun writes.
type KnativeService struct {
	metav1.TypeMeta `json:",inline"`
	// ObjectMeta names the service.
	metav1.ObjectMeta `json:"metadata"`
	// Spec holds the revision template.
	Spec KnativeServiceSpec `json:"spec"`
}

// KnativeServiceSpec is the spec of a Knative Service.
type KnativeServiceSpec struct {
	// Template is the template every new revision is made from.
	Template KnativeRevisionTemplate `json:"template"`
}

// KnativeRevisionTemplate is a revision's metadata (autoscaling annotations) and spec.
type KnativeRevisionTemplate struct {
	// ObjectMeta carries the autoscaling annotations and labels.
	metav1.ObjectMeta `json:"metadata"`
	// Spec is the revision's pod spec.
	Spec KnativeRevisionSpec `json:"spec"`
}

// KnativeRevisionSpec is the part of a Knative RevisionSpec (a PodSpec plus serving fields) fnrun sets.
type KnativeRevisionSpec struct {
	// ContainerConcurrency is the hard limit of in-flight requests per replica; 0 or unset means unlimited.
	ContainerConcurrency *int64 `json:"containerConcurrency,omitempty"`
	// TimeoutSeconds is the longest a request may take, in seconds.
	TimeoutSeconds *int64 `json:"timeoutSeconds,omitempty"`
	// Containers holds the one app container.
	Containers []corev1.Container `json:"containers"`
}

// KnativeServiceFor builds the Knative Service for in, with notes on where Knative differs from fnrun.
func KnativeServiceFor(in Input) (*KnativeService, []string, error) {
	inst, err := in.validate()
	if err != nil {
		return nil, nil, err
	}
	a := in.Manifest.Autoscale
	notes := droppedEnvNotes(in.Manifest)
	ann := map[string]string{
		AnnotationMaxScale: strconv.Itoa(a.Max),
		AnnotationMetric:   a.Metric,
	}
	var concurrency *int64
	minScale := a.Min
	switch a.Metric {
	case runtime.MetricCPU, runtime.MetricMemory:
		ann[AnnotationClass] = ClassHPA
		ann[AnnotationTarget] = strconv.Itoa(a.Target)
		if a.Metric == runtime.MetricMemory {
			// Knative's HPA class reads a memory target as MiB per replica, not a percentage.
			mib := int64(math.Ceil(float64(a.Target) / 100 * float64(inst.MemoryBytes) / bytesPerMiB))
			ann[AnnotationTarget] = strconv.FormatInt(mib, 10)
			notes = append(notes, fmt.Sprintf("memory target %d%% of %s is written as %d MiB: Knative's HPA class reads memory targets in MiB", a.Target, inst.Name, mib))
		}
		if minScale < 1 {
			minScale = 1
			notes = append(notes, "autoscale.min 0 became min-scale 1: Knative's HPA class (cpu, memory) cannot scale to zero")
		}
		notes = append(notes, "autoscale.scale_down_window is not set: Knative's HPA class has no scale-down window annotation")
	case runtime.MetricRPS, runtime.MetricConcurrency:
		ann[AnnotationClass] = ClassKPA
		ann[AnnotationTarget] = strconv.Itoa(a.Target)
		if a.Metric == runtime.MetricConcurrency {
			c := int64(a.Target)
			concurrency = &c
		}
		delay := time.Duration(a.ScaleDownWindow)
		if delay < 0 {
			delay = 0
		}
		if delay > maxScaleDownDelay {
			notes = append(notes, fmt.Sprintf("autoscale.scale_down_window %s is longer than Knative accepts: used 1h", delay))
			delay = maxScaleDownDelay
		}
		ann[AnnotationScaleDownDelay] = delay.String()
	}
	ann[AnnotationMinScale] = strconv.Itoa(minScale)

	timeout := in.timeoutSeconds()
	if timeout > knativeDefaultMaxTimeout {
		notes = append(notes, fmt.Sprintf("timeout %ds is above Knative's default maximum of %ds: raise max-revision-timeout-seconds in config-defaults", timeout, knativeDefaultMaxTimeout))
	}
	c := container(in, inst)
	if env := manifestEnv(in.Manifest); len(env) > 0 {
		c.Env = env
	}
	svc := &KnativeService{
		TypeMeta:   metav1.TypeMeta{APIVersion: KnativeAPIVersion, Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: in.Name, Labels: in.labels()},
		Spec: KnativeServiceSpec{Template: KnativeRevisionTemplate{
			ObjectMeta: metav1.ObjectMeta{Labels: in.labels(), Annotations: ann},
			Spec: KnativeRevisionSpec{
				ContainerConcurrency: concurrency,
				TimeoutSeconds:       &timeout,
				Containers:           []corev1.Container{c},
			},
		}},
	}
	return svc, notes, nil
}

// Knative renders in as a serving.knative.dev/v1 Service in YAML.
func Knative(in Input) ([]byte, error) {
	svc, notes, err := KnativeServiceFor(in)
	if err != nil {
		return nil, err
	}
	header := append([]string{
		fmt.Sprintf("fnrun app %s exported to Knative Serving.", in.Name),
		"Knative sets PORT (the containerPort), K_SERVICE and K_REVISION itself.",
	}, notes...)
	out, err := yamlStream(header, []any{svc})
	if err != nil {
		return nil, fmt.Errorf("export app %s to knative: %w", in.Name, err)
	}
	return out, nil
}
