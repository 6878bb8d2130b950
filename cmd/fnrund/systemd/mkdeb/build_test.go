package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestPackagedUnit(t *testing.T) {
	got, err := packagedUnit("[Service]\nExecStart=/usr/local/bin/fnrund --config /etc/fnrun/fnrund.yaml\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "[Service]\nExecStart=/usr/bin/fnrund --config /etc/fnrun/fnrund.yaml\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := packagedUnit("[Service]\nExecStart=/opt/fnrund\n"); err == nil {
		t.Fatal("a unit without ExecStart=/usr/local/bin/fnrund: want an error")
	}
}

// fakeBinaries writes two small executables standing in for the real ones.
func fakeBinaries(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, n := range []string{"fnrun", "fnrund"} {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte("#!/bin/sh\necho "+n+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths[0], paths[1]
}

func dpkgDeb(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestBuildDeb builds the package from the real unit, config and scripts and reads it back with
// dpkg-deb: `dpkg -c` must list the binaries, the unit and the config, the config must be a
// conffile, the unit must start /usr/bin/fnrund, and the maintainer scripts must be there.
func TestBuildDeb(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("needs dpkg-deb (Debian's dpkg) to read the package back")
	}
	fnrun, fnrund := fakeBinaries(t)
	out := t.TempDir()
	path, err := build(spec{FnrunBin: fnrun, FnrundBin: fnrund, SrcDir: "..", Version: "0.1.0+git1a2b3c", Arch: "amd64"}, out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := filepath.Base(path), "fnrun_0.1.0+git1a2b3c_amd64.deb"; got != want {
		t.Errorf("file name %s, want %s", got, want)
	}
	list := dpkgDeb(t, "-c", path)
	for _, want := range []string{
		"-rwxr-xr-x root/root", "./usr/bin/fnrun\n", "./usr/bin/fnrund\n",
		"./lib/systemd/system/fnrund.service\n", "./etc/fnrun/fnrund.yaml\n",
	} {
		if !strings.Contains(list, want) {
			t.Errorf("dpkg -c lacks %q:\n%s", want, list)
		}
	}
	if !strings.Contains(dpkgDeb(t, "-f", path, "Package", "Version", "Architecture"), "Version: 0.1.0+git1a2b3c") {
		t.Error("control: wrong version")
	}
	ctrl := t.TempDir()
	dpkgDeb(t, "-e", path, ctrl)
	conff, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
	if err != nil || !strings.Contains(string(conff), "/etc/fnrun/fnrund.yaml") {
		t.Errorf("conffiles = %q (%v), want /etc/fnrun/fnrund.yaml", conff, err)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		st, err := os.Stat(filepath.Join(ctrl, s))
		if err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("maintainer script %s: %v (mode %v)", s, err, st)
		}
	}
	fsys := t.TempDir()
	dpkgDeb(t, "-x", path, fsys)
	unit, err := os.ReadFile(filepath.Join(fsys, "lib/systemd/system/fnrund.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ExecStart=/usr/bin/fnrund ", "Delegate=yes", "Type=notify"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("packaged unit lacks %q", want)
		}
	}
	if bin, err := os.ReadFile(filepath.Join(fsys, "usr/bin/fnrund")); err != nil || string(bin) != "#!/bin/sh\necho fnrund\n" {
		t.Errorf("usr/bin/fnrund = %q (%v), want the fake daemon", bin, err)
	}
}

func TestBuildMissingBinary(t *testing.T) {
	_, fnrund := fakeBinaries(t)
	_, err := build(spec{FnrunBin: "/nonexistent/fnrun", FnrundBin: fnrund, SrcDir: "..", Version: "0.1.0", Arch: "amd64"}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/fnrun") {
		t.Fatalf("err = %v, want one naming the missing binary", err)
	}
}
