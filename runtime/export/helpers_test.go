package export

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fnrun/fnrun/runtime"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// autoscaleCPUManifest is examples/autoscale-cpu/fnrun.yml:
// instance C3, autoscale {min: 1, max: 2, metric: cpu, target: 40}, everything else default.
func autoscaleCPUManifest() *runtime.Manifest {
	return &runtime.Manifest{
		Instance: "C3",
		Timeout:  120,
		Autoscale: runtime.Autoscale{
			Min:             1,
			Max:             2,
			Metric:          "cpu",
			Target:          40,
			ScaleUpWindow:   runtime.Duration(time.Second),
			ScaleDownWindow: runtime.Duration(30 * time.Second),
		},
	}
}

// autoscaleCPU is the export input of examples/autoscale-cpu.
func autoscaleCPU() Input {
	return Input{Name: "autoscale-cpu", Manifest: autoscaleCPUManifest(), Image: "autoscale-cpu:latest", Entrypoint: "app:app"}
}

// withManifest returns in with its manifest changed by edit (on a copy).
func withManifest(in Input, edit func(m *runtime.Manifest)) Input {
	m := *in.Manifest
	m.Env = map[string]string{}
	for k, v := range in.Manifest.Env {
		m.Env[k] = v
	}
	edit(&m)
	in.Manifest = &m
	return in
}

// golden compares got with testdata/name.golden, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("update %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s (run go test -update to create it): %v", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// splitDocs splits a YAML stream at its "---" lines.
func splitDocs(t *testing.T, stream []byte) [][]byte {
	t.Helper()
	var docs [][]byte
	for _, d := range strings.Split(string(stream), "\n---\n") {
		docs = append(docs, []byte(d))
	}
	return docs
}

// runtimeManifest shortens runtime.Manifest in edit funcs.
type runtimeManifest = runtime.Manifest

// durationOf parses a Go duration for a test manifest.
func durationOf(s string) runtime.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return runtime.Duration(d)
}
