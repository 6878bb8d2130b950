package export

import (
	"fmt"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/fnrun/fnrun/runtime"
)

// Resources is what one replica of inst gets: requests equal limits, so the pod is Guaranteed
// and utilization percentages mean the same as on fnrun (percent of the instance).
func Resources(inst runtime.Instance) corev1.ResourceRequirements {
	list := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(inst.MilliCores, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(inst.MemoryBytes, resource.BinarySI),
	}
	return corev1.ResourceRequirements{Requests: list, Limits: list.DeepCopy()}
}

// manifestEnv is the manifest's env sorted by name, without the variables the platform sets.
func manifestEnv(m *runtime.Manifest) []corev1.EnvVar {
	names := make([]string, 0, len(m.Env))
	for k := range m.Env {
		if !reservedEnv[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	out := make([]corev1.EnvVar, 0, len(names))
	for _, k := range names {
		out = append(out, corev1.EnvVar{Name: k, Value: m.Env[k]})
	}
	return out
}

// droppedEnvNotes says which manifest env variables were left out because the platform sets them.
func droppedEnvNotes(m *runtime.Manifest) []string {
	var names []string
	for k := range m.Env {
		if reservedEnv[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	notes := make([]string, 0, len(names))
	for _, k := range names {
		notes = append(notes, fmt.Sprintf("env %s from the manifest is left out: the platform sets it", k))
	}
	return notes
}

// readinessProbe is an HTTP GET of the manifest's health path, or a TCP connect when it has none.
func readinessProbe(m *runtime.Manifest) *corev1.Probe {
	port := intstr.FromInt32(ContainerPort)
	if m.Health != "" {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: m.Health, Port: port}}}
	}
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: port}}}
}

// portName names the container port as Knative reads it: "h2c" makes Knative speak HTTP/2 to the
// app (e.g. gRPC), "http1" is HTTP/1.1.
func portName(m *runtime.Manifest) string {
	if m.H2C() {
		return runtime.ProtocolH2C
	}
	return runtime.ProtocolHTTP1
}

// container is the app's container without platform environment.
func container(in Input, inst runtime.Instance) corev1.Container {
	return corev1.Container{
		Name:           in.Name,
		Image:          in.Image,
		Ports:          []corev1.ContainerPort{{Name: portName(in.Manifest), ContainerPort: ContainerPort, Protocol: corev1.ProtocolTCP}},
		Resources:      Resources(inst),
		ReadinessProbe: readinessProbe(in.Manifest),
	}
}

// kubernetesEnv is the environment the app sees on fnrun and Knative, set by hand on Kubernetes:
// PORT, K_SERVICE and K_REVISION first, then the manifest's env sorted by name.
func kubernetesEnv(in Input) []corev1.EnvVar {
	env := []corev1.EnvVar{
		{Name: "PORT", Value: strconv.Itoa(ContainerPort)},
		{Name: "K_SERVICE", Value: in.Name},
		{Name: "K_REVISION", Value: in.revision()},
	}
	return append(env, manifestEnv(in.Manifest)...)
}
