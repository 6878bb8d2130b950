package export

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fnrun/fnrun/runtime"
)

// The hand-built manifest of the golden tests must be what the manifest parser makes of the example.
func TestAutoscaleCPUManifestMatchesParser(t *testing.T) {
	const example = "instance: C3\nautoscale:\n  min: 1\n  max: 2\n  metric: cpu\n  target: 40\n"
	parsed, err := runtime.ParseManifest("fnrun.yml", []byte(example))
	if err != nil {
		t.Fatalf("ParseManifest: %v", err)
	}
	if !reflect.DeepEqual(parsed, autoscaleCPUManifest()) {
		t.Errorf("parsed example = %+v\nhand-built     = %+v", parsed, autoscaleCPUManifest())
	}
	// When the example directory has its manifest, it must say the same.
	dir := filepath.Join("..", "..", "examples", "autoscale-cpu")
	m, path, err := runtime.LoadManifest(dir, "")
	if err != nil {
		t.Fatalf("LoadManifest %s: %v", dir, err)
	}
	if path == "" {
		if _, statErr := os.Stat(dir); statErr != nil {
			t.Logf("no %s yet: only the inline copy was checked", dir)
		} else {
			t.Logf("%s has no manifest yet: only the inline copy was checked", dir)
		}
		return
	}
	m.Env, m.Command, m.Health = nil, nil, ""
	if !reflect.DeepEqual(m, autoscaleCPUManifest()) {
		t.Errorf("%s = %+v, want %+v", path, m, autoscaleCPUManifest())
	}
}
