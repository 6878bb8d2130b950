package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ensureUser creates a system user (with extra groups) for the test when it is missing.
func ensureUser(t *testing.T, name string, groups ...string) {
	t.Helper()
	if exec.Command("id", name).Run() == nil {
		return
	}
	args := []string{"--system", "--no-create-home", "--shell", "/usr/sbin/nologin"}
	if len(groups) > 0 {
		args = append(args, "--groups", strings.Join(groups, ","))
	}
	if out, err := exec.Command("useradd", append(args, name)...).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("userdel", name).Run() })
}

// runAs runs the CLI as another user.
func runAs(t *testing.T, user, socket string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", user, "--", bins.fnrun, "--socket", socket}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestSocketAccess: the API socket is 0660 root:fnrun; a user outside the fnrun group gets
// "permission denied", a member may use it; the router never offers the API.
func TestSocketAccess(t *testing.T) {
	needRoot(t)
	dir, err := os.MkdirTemp("/run", "fnrun-it-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "fnrun.sock")
	d := startDaemon(t, "--socket", sock)
	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want 0660", st.Mode().Perm())
	}
	// fnrund created the group when it was missing.
	if exec.Command("getent", "group", "fnrun").Run() != nil {
		t.Fatal("group fnrun does not exist after fnrund started")
	}
	// Prove the binaries are reachable for other users (the test binaries live in a private temp dir).
	binDir, err := os.MkdirTemp("/var/lib", "fnrun-it-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(binDir) })
	os.Chmod(binDir, 0o755)
	data, _ := os.ReadFile(bins.fnrun)
	cli := filepath.Join(binDir, "fnrun")
	if err := os.WriteFile(cli, data, 0o755); err != nil {
		t.Fatal(err)
	}
	saved := bins.fnrun
	bins.fnrun = cli
	defer func() { bins.fnrun = saved }()

	ensureUser(t, "fnrun-it-outsider")
	ensureUser(t, "fnrun-it-member", "fnrun")
	out, err := runAs(t, "fnrun-it-outsider", sock, "list")
	if err == nil || !strings.Contains(out, "permission denied") {
		t.Errorf("outsider: err=%v output=%q, want permission denied", err, out)
	}
	if out, err := runAs(t, "fnrun-it-member", sock, "list"); err != nil {
		t.Errorf("member of fnrun: %v: %s", err, out)
	}
	// The router answers API paths as unknown hosts, never as the API.
	for _, p := range []string{"/v1/apps", "/v1/deploy"} {
		code, body, err := d.get("v1", p)
		if err != nil || code != 404 || strings.Contains(body, "app") && !strings.Contains(body, "not found") {
			t.Errorf("router %s: %d %q %v, want a plain 404", p, code, body, err)
		}
	}
}
