package sandbox

import (
	"testing"
	"time"
)

func TestParseTimeScale(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{"", 1, false},
		{"1", 1, false},
		{"8", 8, false},
		{"2.5", 2.5, false},
		{"0", 0, true},
		{"0.5", 0, true},
		{"-3", 0, true},
		{"fast", 0, true},
		{"1e9", 0, true},
	}
	for _, tc := range tests {
		got, err := parseTimeScale(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseTimeScale(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestSlowScales(t *testing.T) {
	old := timeScale
	t.Cleanup(func() { timeScale = old })
	timeScale = 8
	if got := slow(5 * time.Second); got != 40*time.Second {
		t.Errorf("slow(5s) at scale 8 = %s, want 40s", got)
	}
	timeScale = 1
	if got := slow(300 * time.Millisecond); got != 300*time.Millisecond {
		t.Errorf("slow(300ms) at scale 1 = %s", got)
	}
}
