package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProbeUvicornSystemPython runs the real probe against Debian's python3,
// which has uvicorn on this project's machines.
func TestProbeUvicornSystemPython(t *testing.T) {
	if _, err := os.Stat(SystemPython); err != nil {
		t.Skipf("needs %s: %v", SystemPython, err)
	}
	if err := ProbeUvicorn(SystemPython); err != nil {
		t.Fatalf("ProbeUvicorn(%s): %v (install python3-uvicorn)", SystemPython, err)
	}
}

func TestProbeUvicornReportsImportError(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "python3")
	script := "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\necho \"ModuleNotFoundError: No module named 'uvicorn'\" >&2\nexit 1\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	err := ProbeUvicorn(fake)
	if err == nil || err.Error() != "ModuleNotFoundError: No module named 'uvicorn'" {
		t.Fatalf("ProbeUvicorn(fake) = %v, want the ModuleNotFoundError line", err)
	}
	silent := filepath.Join(t.TempDir(), "python3")
	if err := os.WriteFile(silent, []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ProbeUvicorn(silent); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("ProbeUvicorn(silent) = %v, want exit status 3", err)
	}
	if err := ProbeUvicorn(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("ProbeUvicorn(missing) succeeded")
	}
}

// TestDetectRealPython detects a FastAPI app with the default probe and this
// host's PATH, where the first python3 may lack uvicorn.
func TestDetectRealPython(t *testing.T) {
	if _, err := os.Stat(SystemPython); err != nil {
		t.Skipf("needs %s: %v", SystemPython, err)
	}
	dir := t.TempDir()
	writeAppFile(t, filepath.Join(dir, "main.py"), "from fastapi import FastAPI\napp = FastAPI()\n")
	cmd, err := Detect(dir, "", nil, DetectOptions{})
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	if err := ProbeUvicorn(cmd.Args[0]); err != nil {
		t.Fatalf("chose %s, which cannot import uvicorn: %v", cmd.Args[0], err)
	}
	if cmd.Args[3] != "main:app" || cmd.Runtime != RuntimePythonASGI {
		t.Fatalf("Detect = %+v", cmd)
	}
	t.Logf("%s", cmd.Description)
}
