package export

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/fnrun/fnrun/runtime"
)

// ContainerPort is the port the app listens on inside its container (PORT=8080), as on Knative.
const ContainerPort = 8080

// ServicePort is the port the Kubernetes Service exposes in front of ContainerPort.
const ServicePort = 80

// ManagedBy is the value of the app.kubernetes.io/managed-by label on every object.
const ManagedBy = "fnrun"

// Label keys set on every exported object.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelManagedBy = "app.kubernetes.io/managed-by"
)

// ErrInvalidInput is returned when an Input cannot be exported (bad name, missing manifest, bad autoscale).
var ErrInvalidInput = errors.New("invalid export input")

// Input is what an export needs to know about one app.
type Input struct {
	// Name is the app name or id; it must be a DNS label (see DNSLabel) and names every object.
	Name string
	// Manifest is the app's manifest with defaults applied.
	Manifest *runtime.Manifest
	// Image is the container image reference, e.g. "registry.example.com/hello:1".
	Image string
	// Entrypoint is the ASGI entrypoint "module:attr" of a python-asgi app, or "" for a command app.
	Entrypoint string
	// Revision is the value of K_REVISION on Kubernetes; "" means "<Name>-00001". Knative sets its own.
	Revision string
}

// reservedEnv are the variables the platform sets; a manifest's env may not override them.
var reservedEnv = map[string]bool{"PORT": true, "K_SERVICE": true, "K_REVISION": true, "K_CONFIGURATION": true}

// validate checks in and returns its instance type.
func (in Input) validate() (runtime.Instance, error) {
	if errs := validation.IsDNS1035Label(in.Name); len(errs) > 0 {
		return runtime.Instance{}, fmt.Errorf("%w: app name %q is not a DNS label: %s", ErrInvalidInput, in.Name, strings.Join(errs, "; "))
	}
	if in.Image == "" {
		return runtime.Instance{}, fmt.Errorf("%w: app %s: no image", ErrInvalidInput, in.Name)
	}
	m := in.Manifest
	if m == nil {
		return runtime.Instance{}, fmt.Errorf("%w: app %s: no manifest", ErrInvalidInput, in.Name)
	}
	name := m.Instance
	if name == "" {
		name = runtime.DefaultInstance
	}
	inst, err := runtime.LookupInstance(name)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("%w: app %s: %w", ErrInvalidInput, in.Name, err)
	}
	a := m.Autoscale
	switch {
	case a.Min < 0:
		return runtime.Instance{}, fmt.Errorf("%w: app %s: autoscale.min %d is negative", ErrInvalidInput, in.Name, a.Min)
	case a.Max < 1:
		return runtime.Instance{}, fmt.Errorf("%w: app %s: autoscale.max %d is below 1", ErrInvalidInput, in.Name, a.Max)
	case a.Min > a.Max:
		return runtime.Instance{}, fmt.Errorf("%w: app %s: autoscale.min %d is above max %d", ErrInvalidInput, in.Name, a.Min, a.Max)
	case a.Target < 1:
		return runtime.Instance{}, fmt.Errorf("%w: app %s: autoscale.target %d is below 1", ErrInvalidInput, in.Name, a.Target)
	case m.Timeout < 0:
		return runtime.Instance{}, fmt.Errorf("%w: app %s: timeout %d is negative", ErrInvalidInput, in.Name, m.Timeout)
	}
	switch a.Metric {
	case runtime.MetricCPU, runtime.MetricMemory, runtime.MetricRPS, runtime.MetricConcurrency:
	default:
		return runtime.Instance{}, fmt.Errorf("%w: app %s: autoscale.metric %q is not cpu, memory, rps or concurrency", ErrInvalidInput, in.Name, a.Metric)
	}
	return inst, nil
}

// revision is K_REVISION for in.
func (in Input) revision() string {
	if in.Revision != "" {
		return in.Revision
	}
	return in.Name + "-00001"
}

// timeoutSeconds is the manifest timeout, or the default when unset.
func (in Input) timeoutSeconds() int64 {
	if in.Manifest.Timeout == 0 {
		return runtime.DefaultTimeoutSeconds
	}
	return int64(in.Manifest.Timeout)
}

// labels are the labels every object of the app carries.
func (in Input) labels() map[string]string {
	return map[string]string{LabelName: in.Name, LabelManagedBy: ManagedBy}
}

// DNSLabel turns s (a directory name, say) into a DNS-1035 label usable as an app name:
// lower case, runs of other characters become one "-", it starts with a letter and has at most 63 characters.
// It returns "" when s holds no letter or digit.
func DNSLabel(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9' && b.Len() > 0:
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	out := b.String()
	if len(out) > validation.DNS1035LabelMaxLength {
		out = strings.TrimRight(out[:validation.DNS1035LabelMaxLength], "-")
	}
	return out
}
