package export

import (
	"fmt"
	"strings"
)

// Kind is an export target.
type Kind string

// Export targets.
const (
	KindKubernetes Kind = "kubernetes"
	KindKnative    Kind = "knative"
)

// ParseKind reads a --kind value: kubernetes (k8s) or knative (kn, ksvc).
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(s) {
	case "kubernetes", "k8s":
		return KindKubernetes, nil
	case "knative", "kn", "ksvc":
		return KindKnative, nil
	}
	return "", fmt.Errorf("%w: kind %q is not kubernetes or knative", ErrInvalidInput, s)
}

// FileName is the file the YAML of k is written to: kubernetes.yaml or knative.yaml.
func (k Kind) FileName() string { return string(k) + ".yaml" }

// Render renders in as YAML for k.
func Render(k Kind, in Input) ([]byte, error) {
	switch k {
	case KindKubernetes:
		return Kubernetes(in)
	case KindKnative:
		return Knative(in)
	}
	return nil, fmt.Errorf("%w: kind %q is not kubernetes or knative", ErrInvalidInput, k)
}
