package runtime

import (
	"reflect"
	"slices"
	"testing"
)

func TestExpandPort(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{in: []string{"python3", "-m", "http.server", "$PORT"}, want: []string{"python3", "-m", "http.server", "8080"}},
		{in: []string{"--port=${PORT}"}, want: []string{"--port=8080"}},
		{in: []string{"0.0.0.0:$PORT/x", "$PORT$PORT"}, want: []string{"0.0.0.0:8080/x", "80808080"}},
		{in: []string{"$PORTS", "$PORT_X", "${PORTS}", "$port", "$"}, want: []string{"$PORTS", "$PORT_X", "${PORTS}", "$port", "$"}},
		{in: []string{"$PORT-1", "${PORT}S"}, want: []string{"8080-1", "8080S"}},
		{in: []string{}, want: []string{}},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.in)
		got := ExpandPort(tt.in, 8080)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ExpandPort(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !reflect.DeepEqual(tt.in, in) {
			t.Errorf("ExpandPort changed its input to %q", tt.in)
		}
	}
}
