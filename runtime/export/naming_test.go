package export

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestDNSLabel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"autoscale-cpu", "autoscale-cpu"},
		{"My_App", "my-app"},
		{"hello world!!", "hello-world"},
		{"--lead", "lead"},
		{"2fast", "fast"},
		{"app.v2", "app-v2"},
		{"___", ""},
		{strings.Repeat("a", 70), strings.Repeat("a", 63)},
		{strings.Repeat("a", 62) + "_b", strings.Repeat("a", 62)},
	}
	for _, tt := range tests {
		got := DNSLabel(tt.in)
		if got != tt.want {
			t.Errorf("DNSLabel(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got != "" {
			if errs := validation.IsDNS1035Label(got); len(errs) > 0 {
				t.Errorf("DNSLabel(%q) = %q is not a DNS-1035 label: %v", tt.in, got, errs)
			}
		}
	}
}
