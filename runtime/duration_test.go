package runtime

import (
	"encoding/json"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestDurationUnmarshalYAML(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "30s", want: 30 * time.Second},
		{in: "1m", want: time.Minute},
		{in: "1m30s", want: 90 * time.Second},
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "45", want: 45 * time.Second},
		{in: `"45"`, want: 45 * time.Second},
		{in: "0", want: 0},
		{in: "-5", want: -5 * time.Second},
		{in: "soon", wantErr: true},
		{in: "1.5", wantErr: true},
		{in: "[1]", wantErr: true},
		{in: "10000000000", wantErr: true},
	}
	for _, tt := range tests {
		var d Duration
		err := yaml.Unmarshal([]byte(tt.in), &d)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && d.D() != tt.want {
			t.Errorf("%s: got %v, want %v", tt.in, d.D(), tt.want)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		d    Duration
		json string
	}{
		{Duration(30 * time.Second), `"30s"`},
		{Duration(time.Minute), `"1m0s"`},
		{Duration(1500 * time.Millisecond), `"1.5s"`},
		{0, `"0s"`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.d)
		if err != nil || string(got) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.d.D(), got, err, tt.json)
		}
		var back Duration
		if err := json.Unmarshal(got, &back); err != nil || back != tt.d {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", got, back.D(), err, tt.d.D())
		}
	}
	var d Duration
	if err := json.Unmarshal([]byte(`12`), &d); err != nil || d.D() != 12*time.Second {
		t.Errorf(`Unmarshal(12) = %v, %v; want 12s`, d.D(), err)
	}
	for _, bad := range []string{`"soon"`, `true`, `{}`} {
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
}

func TestDurationMarshalYAML(t *testing.T) {
	out, err := yaml.Marshal(struct {
		W Duration `yaml:"w"`
	}{Duration(90 * time.Second)})
	if err != nil || string(out) != "w: 1m30s\n" {
		t.Fatalf("yaml.Marshal = %q, %v", out, err)
	}
}
