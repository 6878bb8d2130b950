package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// fakeProbe answers from a table: paths in ok succeed, others fail with a
// ModuleNotFoundError; it records every call in order.
type fakeProbe struct {
	ok    map[string]bool
	calls []string
}

func (f *fakeProbe) probe(python string) error {
	f.calls = append(f.calls, python)
	if f.ok[python] {
		return nil
	}
	return errors.New("ModuleNotFoundError: No module named 'uvicorn'")
}

// fakeExe writes an executable file at path (the probe is fake, so it never runs).
func fakeExe(t *testing.T, path string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// host is a temp dir with an app dir, three PATH dirs holding python3 and a fake
// system python.
type host struct {
	app, bin1, bin2, bin3, system string
}

func newHost(t *testing.T) host {
	t.Helper()
	root := t.TempDir()
	h := host{
		app:    filepath.Join(root, "app"),
		bin1:   filepath.Join(root, "pyenv", "shims"),
		bin2:   filepath.Join(root, "usr", "local", "bin"),
		bin3:   filepath.Join(root, "usr", "bin"),
		system: filepath.Join(root, "usr", "bin", "python3"),
	}
	if err := os.MkdirAll(h.app, 0o755); err != nil {
		t.Fatal(err)
	}
	fakeExe(t, filepath.Join(h.bin1, "python3"))
	fakeExe(t, filepath.Join(h.bin2, "python3"))
	fakeExe(t, h.system)
	return h
}

func (h host) venv(t *testing.T) string {
	t.Helper()
	return fakeExe(t, filepath.Join(h.app, ".venv", "bin", "python"))
}

func uvicornArgs(python, target string) []string {
	return []string{python, "-m", "uvicorn", target, "--host", "0.0.0.0", "--port", "$PORT", "--no-access-log"}
}

func TestDetectPythonChoice(t *testing.T) {
	tests := []struct {
		name      string
		venv      bool
		path      func(h host) string
		ok        func(h host) []string
		want      func(h host) string // chosen python
		wantCalls func(h host) []string
		wantErr   func(h host) string
	}{
		{
			name: "venv first",
			venv: true,
			path: func(h host) string { return h.bin1 },
			ok:   func(h host) []string { return []string{filepath.Join(h.app, ".venv/bin/python"), h.system} },
			want: func(h host) string { return filepath.Join(h.app, ".venv/bin/python") },
			wantCalls: func(h host) []string {
				return []string{filepath.Join(h.app, ".venv/bin/python")}
			},
		},
		{
			name: "every python3 on PATH before the system one",
			venv: true,
			path: func(h host) string { return strings.Join([]string{h.bin1, h.bin2, h.bin3}, ":") },
			ok:   func(h host) []string { return []string{filepath.Join(h.bin2, "python3"), h.system} },
			want: func(h host) string { return filepath.Join(h.bin2, "python3") },
			wantCalls: func(h host) []string {
				return []string{filepath.Join(h.app, ".venv/bin/python"), filepath.Join(h.bin1, "python3"), filepath.Join(h.bin2, "python3")}
			},
		},
		{
			name: "system python last, duplicates and missing dirs skipped",
			path: func(h host) string {
				return strings.Join([]string{h.bin1, "", "relative/bin", h.bin1 + "/", "/nonexistent", h.bin3, h.bin1}, ":")
			},
			ok:   func(h host) []string { return []string{h.system} },
			want: func(h host) string { return h.system },
			wantCalls: func(h host) []string {
				return []string{filepath.Join(h.bin1, "python3"), h.system}
			},
		},
		{
			name: "none can import uvicorn",
			venv: true,
			path: func(h host) string { return h.bin1 + ":" + h.bin2 },
			ok:   func(h host) []string { return nil },
			wantErr: func(h host) string {
				why := " (ModuleNotFoundError: No module named 'uvicorn')"
				return "no python can import uvicorn: tried " +
					filepath.Join(h.app, ".venv/bin/python") + why + ", " +
					filepath.Join(h.bin1, "python3") + why + ", " +
					filepath.Join(h.bin2, "python3") + why + ", " +
					h.system + why +
					"; install uvicorn (Debian: apt-get install python3-uvicorn python3-fastapi) or add a .venv"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t)
			if tt.venv {
				h.venv(t)
			}
			fp := &fakeProbe{ok: map[string]bool{}}
			for _, p := range tt.ok(h) {
				fp.ok[p] = true
			}
			cmd, err := Detect(h.app, "app:app", nil, DetectOptions{PathEnv: tt.path(h), Probe: fp.probe, SystemPython: h.system})
			if tt.wantErr != nil {
				if err == nil || err.Error() != tt.wantErr(h) || !errors.Is(err, ErrNoPython) {
					t.Fatalf("error\n got: %v\nwant: %s", err, tt.wantErr(h))
				}
				return
			}
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			if want := uvicornArgs(tt.want(h), "app:app"); !reflect.DeepEqual(cmd.Args, want) {
				t.Errorf("Args = %q, want %q", cmd.Args, want)
			}
			if !reflect.DeepEqual(fp.calls, tt.wantCalls(h)) {
				t.Errorf("probed %q, want %q", fp.calls, tt.wantCalls(h))
			}
		})
	}
}

func TestPythonCandidatesDedupesSymlinkedDirs(t *testing.T) {
	h := newHost(t)
	venv := h.venv(t)
	// /bin -> usr/bin as on a merged-/usr system: the same python3 twice.
	link := filepath.Join(filepath.Dir(h.bin3), "..", "bin")
	if err := os.Symlink("usr/bin", link); err != nil {
		t.Fatal(err)
	}
	// The venv's python is a symlink to the system one but must stay distinct.
	if err := os.Remove(venv); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(h.system, venv); err != nil {
		t.Fatal(err)
	}
	got := pythonCandidates(h.app, link+":"+h.bin3+":"+h.bin2, h.system)
	want := []string{venv, filepath.Join(filepath.Clean(link), "python3"), filepath.Join(h.bin2, "python3")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("candidates %q, want %q", got, want)
	}
}

func TestPythonCandidatesSkipsNonExecutables(t *testing.T) {
	h := newHost(t)
	if err := os.Chmod(filepath.Join(h.bin1, "python3"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(h.bin2, "python3.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	dirPython := filepath.Join(t.TempDir(), "python3")
	if err := os.Mkdir(dirPython, 0o755); err != nil {
		t.Fatal(err)
	}
	got := pythonCandidates(h.app, h.bin1+":"+filepath.Dir(dirPython), filepath.Join(h.bin3, "missing"))
	if len(got) != 0 {
		t.Fatalf("candidates %q, want none", got)
	}
	_, err := choosePython(got, (&fakeProbe{}).probe)
	if !errors.Is(err, ErrNoPython) || !strings.Contains(err.Error(), "found no python") {
		t.Fatalf("choosePython with no candidates: %v", err)
	}
}

func TestDetectFindsApp(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string
		entrypoint string
		want       string // MODULE:ATTR
		wantErr    string // substring
		wantIs     error
	}{
		{name: "main.py fastapi", files: map[string]string{"main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n"}, want: "main:app"},
		{name: "main.py before app.py", files: map[string]string{
			"main.py": "from fastapi import FastAPI\napi = FastAPI(title='x')\n",
			"app.py":  "from fastapi import FastAPI\napp = FastAPI()\n"}, want: "main:api"},
		{name: "app.py when main.py has no app", files: map[string]string{
			"main.py": "import uvicorn\nprint('hi')\n",
			"app.py":  "from starlette.applications import Starlette\napplication = Starlette(routes=[])\n"}, want: "app:application"},
		{name: "qualified and annotated", files: map[string]string{"app.py": "import fastapi\n\nserver: fastapi.FastAPI = fastapi.FastAPI()\n"}, want: "app:server"},
		{name: "single other file", files: map[string]string{"server.py": "import quart\nweb = quart.Quart(__name__)\n", "util.py": "X = 1\n"}, want: "server:web"},
		{name: "indented assignment is not top level", files: map[string]string{"main.py": "def make():\n    app = FastAPI()\n    return app\n"},
			wantErr: "no app found in ", wantIs: ErrNoApp},
		{name: "several candidates", files: map[string]string{"a.py": "app = FastAPI()\n", "b.py": "app = Starlette()\n"},
			wantErr: "several candidates (a:app, b:app): pass one as MODULE:ATTR", wantIs: ErrNoApp},
		{name: "file name that is not a module", files: map[string]string{"my-app.py": "app = FastAPI()\n"}, wantErr: "no app found", wantIs: ErrNoApp},
		{name: "empty dir", wantErr: ": pass MODULE:ATTR (e.g. app:app) or set command: in fnrun.yml", wantIs: ErrNoApp},
		{name: "entrypoint wins over scanning", files: map[string]string{"main.py": "app = FastAPI()\n"}, entrypoint: "pkg.web:make", want: "pkg.web:make"},
		{name: "bad entrypoint", entrypoint: "main.py", wantErr: "has no ':'", wantIs: ErrBadEntrypoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t)
			for name, src := range tt.files {
				writeAppFile(t, filepath.Join(h.app, name), src)
			}
			fp := &fakeProbe{ok: map[string]bool{h.system: true}}
			cmd, err := Detect(h.app, tt.entrypoint, nil, DetectOptions{PathEnv: "/nonexistent", Probe: fp.probe, SystemPython: h.system})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, tt.wantIs) {
					t.Fatalf("error %v, want %v containing %q", err, tt.wantIs, tt.wantErr)
				}
				if len(fp.calls) != 0 {
					t.Fatalf("probed pythons %q for an app that cannot run", fp.calls)
				}
				return
			}
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			want := Command{
				Args:        uvicornArgs(h.system, tt.want),
				Env:         map[string]string{"PYTHONUNBUFFERED": "1"},
				Runtime:     RuntimePythonASGI,
				Description: fmt.Sprintf("uvicorn %s on %s", tt.want, h.system),
			}
			if !reflect.DeepEqual(cmd, want) {
				t.Fatalf("got  %+v\nwant %+v", cmd, want)
			}
		})
	}
	t.Run("no app error names the dir", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Detect(dir, "", nil, DetectOptions{PathEnv: "/nonexistent", Probe: (&fakeProbe{}).probe})
		want := "no app found in " + dir + ": pass MODULE:ATTR (e.g. app:app) or set command: in fnrun.yml"
		if err == nil || err.Error() != want {
			t.Fatalf("error\n got: %v\nwant: %s", err, want)
		}
	})
}

func TestDetectManifest(t *testing.T) {
	h := newHost(t)
	fp := &fakeProbe{ok: map[string]bool{h.system: true}}
	opts := DetectOptions{PathEnv: "/nonexistent", Probe: fp.probe, SystemPython: h.system}

	t.Run("command wins", func(t *testing.T) {
		m := withDefaults(func(m *Manifest) {
			m.Command = []string{"./server", "--port", "$PORT"}
			m.Env = map[string]string{"MODE": "prod"}
		})
		cmd, err := Detect(h.app, "app:app", m, opts)
		if err != nil {
			t.Fatal(err)
		}
		want := Command{Args: []string{"./server", "--port", "$PORT"}, Env: map[string]string{"MODE": "prod"},
			Runtime: RuntimeCommand, Description: "command: ./server --port $PORT"}
		if !reflect.DeepEqual(cmd, want) {
			t.Fatalf("got  %+v\nwant %+v", cmd, want)
		}
		cmd.Args[0], cmd.Env["MODE"] = "changed", "changed"
		if m.Command[0] != "./server" || m.Env["MODE"] != "prod" {
			t.Fatalf("Command shares memory with the manifest: %+v", m)
		}
		if len(fp.calls) != 0 {
			t.Fatalf("probed %q for a command app", fp.calls)
		}
	})
	t.Run("command without env has an empty env", func(t *testing.T) {
		cmd, err := Detect(h.app, "", withDefaults(func(m *Manifest) { m.Command = []string{"/bin/sh", "-c", "x"} }), opts)
		if err != nil || cmd.Env == nil || len(cmd.Env) != 0 {
			t.Fatalf("Detect = %+v, %v", cmd, err)
		}
	})
	t.Run("env plus PYTHONUNBUFFERED", func(t *testing.T) {
		m := withDefaults(func(m *Manifest) { m.Env = map[string]string{"A": "1"} })
		cmd, err := Detect(h.app, "app:app", m, opts)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"A": "1", "PYTHONUNBUFFERED": "1"}; !reflect.DeepEqual(cmd.Env, want) {
			t.Fatalf("Env = %v, want %v", cmd.Env, want)
		}
		if _, leaked := m.Env["PYTHONUNBUFFERED"]; leaked {
			t.Fatal("Detect wrote into the manifest's env")
		}
	})
	t.Run("user PYTHONUNBUFFERED kept", func(t *testing.T) {
		m := withDefaults(func(m *Manifest) { m.Env = map[string]string{"PYTHONUNBUFFERED": "0"} })
		cmd, err := Detect(h.app, "app:app", m, opts)
		if err != nil || cmd.Env["PYTHONUNBUFFERED"] != "0" {
			t.Fatalf("Detect = %+v, %v", cmd, err)
		}
	})
	t.Run("relative dir gives an absolute venv python", func(t *testing.T) {
		venv := h.venv(t)
		fp := &fakeProbe{ok: map[string]bool{venv: true}}
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		rel, err := filepath.Rel(wd, h.app)
		if err != nil {
			t.Skipf("no relative path from %s to %s: %v", wd, h.app, err)
		}
		cmd, err := Detect(rel, "app:app", nil, DetectOptions{PathEnv: "/nonexistent", Probe: fp.probe, SystemPython: h.system})
		if err != nil {
			t.Fatal(err)
		}
		if cmd.Args[0] != venv || !slices.Contains(fp.calls, venv) {
			t.Fatalf("python %s (probed %q), want %s", cmd.Args[0], fp.calls, venv)
		}
	})
}
