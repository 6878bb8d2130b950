//go:build !race

package sandbox

import (
	"path/filepath"
	"testing"
)

// The race detector makes the reading's buffer escape, hence the build tag.
func TestUsageReaderNoAllocs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "cpu.stat"), "usage_usec 401234\nthrottled_usec 3612345\n")
	writeFile(t, filepath.Join(dir, "memory.current"), "1048576\n")
	var l leaf = fakeUsageLeaf{src: usageSource{cpu: filepath.Join(dir, "cpu.stat"), memory: filepath.Join(dir, "memory.current")}}
	var r usageReader
	t.Cleanup(func() { _ = r.close() })
	if _, err := r.read(l); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = r.read(l) }); n != 0 {
		t.Errorf("a reading allocates %.0f times, want 0", n)
	}
}
