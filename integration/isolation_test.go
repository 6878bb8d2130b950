package integration

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplicaCannotReachOthers: a replica reads its own code but not another app's, nor the
// state store, nor the daemon socket.
func TestReplicaCannotReachOthers(t *testing.T) {
	sockDir, err := os.MkdirTemp("/run", "fnrun-it-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	os.Chmod(sockDir, 0o755)
	d := startDaemon(t, "--socket", filepath.Join(sockDir, "fnrun.sock"))
	a := d.deploy(spinApp(t, "instance: C1\nautoscale: {min: 1, max: 1}\ncommand: [./spinserver]\n"), "--name", "alice")
	b := d.deploy(spinApp(t, "instance: C1\nautoscale: {min: 1, max: 1}\ncommand: [./spinserver]\n"), "--name", "bob")
	code := func(id string) string {
		return filepath.Join(d.stateDir, "apps", id, "revisions", "00001", "code", "fnrun.yml")
	}
	ask := func(id, what, path string) string {
		t.Helper()
		_, body, err := d.get(id, "/"+what+"?path="+url.QueryEscape(path))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(body)
	}
	if got := ask(a.ID, "read", code(a.ID)); got != "ok" {
		t.Errorf("alice cannot read her own code: %s", got)
	}
	for _, c := range []struct{ what, path string }{
		{"read", code(b.ID)},
		{"read", filepath.Join(d.stateDir, "fnrun.db")},
		{"read", "/etc/shadow"},
		{"dial", d.socket},
	} {
		if got := ask(a.ID, c.what, c.path); !strings.Contains(got, "permission denied") {
			t.Errorf("alice %s %s: %q, want permission denied", c.what, c.path, got)
		}
	}
}
