package export

import (
	"errors"
	"fmt"
	"math"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/fnrun/fnrun/runtime"
)

// ErrNeedsKnative is returned by Kubernetes when the app scales on rps or concurrency:
// a plain HorizontalPodAutoscaler only sees cpu and memory and cannot scale to zero.
var ErrNeedsKnative = errors.New("needs Knative")

// maxStabilizationSeconds is the largest HPA stabilization window Kubernetes accepts (one hour).
const maxStabilizationSeconds = 3600

// KubernetesApp is an app as plain Kubernetes objects.
type KubernetesApp struct {
	// Deployment runs the replicas.
	Deployment *appsv1.Deployment
	// Service load-balances port 80 to the replicas' port 8080.
	Service *corev1.Service
	// HPA scales the Deployment between autoscale.min and autoscale.max.
	HPA *autoscalingv2.HorizontalPodAutoscaler
	// Notes are the places where the cluster behaves differently from fnrun, one line each.
	Notes []string
}

// Objects returns the objects in the order they should be applied.
func (a *KubernetesApp) Objects() []k8sruntime.Object {
	return []k8sruntime.Object{a.Deployment, a.Service, a.HPA}
}

// KubernetesObjects builds the Deployment, Service and HorizontalPodAutoscaler for in.
// Apps scaling on rps or concurrency fail with ErrNeedsKnative.
func KubernetesObjects(in Input) (*KubernetesApp, error) {
	inst, err := in.validate()
	if err != nil {
		return nil, err
	}
	a := in.Manifest.Autoscale
	var resourceName corev1.ResourceName
	switch a.Metric {
	case runtime.MetricCPU:
		resourceName = corev1.ResourceCPU
	case runtime.MetricMemory:
		resourceName = corev1.ResourceMemory
	default:
		zero := ""
		if a.Min == 0 {
			zero = " and scale to zero (min 0)"
		}
		return nil, fmt.Errorf("export app %s to kubernetes: %w: autoscale.metric %s%s: a HorizontalPodAutoscaler only scales on cpu or memory and never to zero; use --kind knative",
			in.Name, ErrNeedsKnative, a.Metric, zero)
	}

	notes := droppedEnvNotes(in.Manifest)
	minReplicas := int32(a.Min)
	if minReplicas < 1 {
		minReplicas = 1
		notes = append(notes, "autoscale.min 0 became minReplicas 1: a HorizontalPodAutoscaler cannot scale to zero (use --kind knative with rps or concurrency for that)")
	}
	down, note := stabilizationSeconds("scale_down_window", a.ScaleDownWindow)
	if note != "" {
		notes = append(notes, note)
	}
	up, note := stabilizationSeconds("scale_up_window", a.ScaleUpWindow)
	if note != "" {
		notes = append(notes, note)
	}

	labels := in.labels()
	selector := map[string]string{LabelName: in.Name}
	c := container(in, inst)
	c.Env = kubernetesEnv(in)
	grace := in.timeoutSeconds()
	noneUnavailable, oneSurge := intstr.FromInt32(0), intstr.FromInt32(1)

	dep := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: appsv1.SchemeGroupVersion.String(), Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: in.Name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &minReplicas,
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			// Like an fnrun redeploy: a new replica is ready before an old one goes.
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &noneUnavailable, MaxSurge: &oneSurge},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: in.labels()},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{c},
					// In-flight requests may run for the whole timeout after SIGTERM.
					TerminationGracePeriodSeconds: &grace,
				},
			},
		},
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: corev1.SchemeGroupVersion.String(), Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: in.Name, Labels: in.labels()},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{LabelName: in.Name},
			Ports: []corev1.ServicePort{{
				Name:        "http",
				Port:        ServicePort,
				TargetPort:  intstr.FromInt32(ContainerPort),
				Protocol:    corev1.ProtocolTCP,
				AppProtocol: appProtocol(in.Manifest),
			}},
		},
	}
	target := int32(a.Target)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: autoscalingv2.SchemeGroupVersion.String(), Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{Name: in.Name, Labels: in.labels()},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: dep.APIVersion, Kind: dep.Kind, Name: in.Name},
			MinReplicas:    &minReplicas,
			MaxReplicas:    int32(a.Max),
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name:   resourceName,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target},
				},
			}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp:   &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &up},
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &down},
			},
		},
	}
	return &KubernetesApp{Deployment: dep, Service: svc, HPA: hpa, Notes: notes}, nil
}

// Kubernetes renders in as a multi-document YAML stream: Deployment, Service, HorizontalPodAutoscaler.
// Apps scaling on rps or concurrency fail with ErrNeedsKnative.
func Kubernetes(in Input) ([]byte, error) {
	app, err := KubernetesObjects(in)
	if err != nil {
		return nil, err
	}
	header := append([]string{
		fmt.Sprintf("fnrun app %s exported to Kubernetes (Deployment, Service, HorizontalPodAutoscaler).", in.Name),
		"The HPA needs metrics-server in the cluster.",
	}, app.Notes...)
	docs := make([]any, 0, 3)
	for _, o := range app.Objects() {
		docs = append(docs, o)
	}
	out, err := yamlStream(header, docs)
	if err != nil {
		return nil, fmt.Errorf("export app %s to kubernetes: %w", in.Name, err)
	}
	return out, nil
}

// stabilizationSeconds turns a window into whole seconds (rounded up) within what an HPA accepts;
// note explains a clamp and is "" otherwise.
func stabilizationSeconds(field string, d runtime.Duration) (int32, string) {
	secs := math.Ceil(time.Duration(d).Seconds())
	switch {
	case secs < 0:
		return 0, fmt.Sprintf("autoscale.%s %s is negative: used 0s", field, time.Duration(d))
	case secs > maxStabilizationSeconds:
		return maxStabilizationSeconds, fmt.Sprintf("autoscale.%s %s is longer than an HPA accepts: used 1h", field, time.Duration(d))
	}
	return int32(secs), ""
}

// appProtocol tells Kubernetes (and service meshes) that an h2c app speaks HTTP/2 without TLS,
// with the standard value "kubernetes.io/h2c"; nil for HTTP/1.1 apps.
func appProtocol(m *runtime.Manifest) *string {
	if !m.H2C() {
		return nil
	}
	p := "kubernetes.io/h2c"
	return &p
}
