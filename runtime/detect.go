package runtime

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Runtime names reported in Command.Runtime.
const (
	RuntimePythonASGI = "python-asgi"
	RuntimeCommand    = "command"
)

// Command is how to start one replica of an app.
type Command struct {
	// Args is the argv; "$PORT" / "${PORT}" in it are expanded by the sandbox
	// (see ExpandPort), which also runs it with the app directory as working directory.
	Args []string
	// Env is extra environment for the process (the manifest's env plus runtime defaults).
	Env map[string]string
	// Runtime is RuntimePythonASGI or RuntimeCommand.
	Runtime string
	// Description is human text, e.g. "uvicorn app:app on /usr/bin/python3".
	Description string
}

// DetectOptions are the inputs of Detect that come from the host.
type DetectOptions struct {
	// PathEnv is the PATH searched for python3 (default os.Getenv("PATH")).
	PathEnv string
	// Probe checks that a python can import uvicorn (default ProbeUvicorn).
	Probe func(python string) error
	// SystemPython is tried after PATH (default SystemPython, /usr/bin/python3).
	SystemPython string
}

// Detect turns an app directory into a command line and environment.
//
// A manifest command wins (argv as written; a string command was already turned
// into /bin/sh -c by ParseManifest). Otherwise the app is a Python ASGI app run
// by uvicorn: entrypoint is "MODULE:ATTR", or "" to look in dir's main.py,
// app.py or single other *.py for e.g. `app = FastAPI(`. The interpreter is the
// first of dir/.venv/bin/python, each python3 on PATH and /usr/bin/python3 that
// can import uvicorn.
func Detect(dir, entrypoint string, m *Manifest, opts DetectOptions) (Command, error) {
	if m == nil {
		m = Defaults()
	}
	env := maps.Clone(m.Env)
	if env == nil {
		env = map[string]string{}
	}
	if len(m.Command) > 0 {
		return Command{
			Args:        slices.Clone(m.Command),
			Env:         env,
			Runtime:     RuntimeCommand,
			Description: "command: " + strings.Join(m.Command, " "),
		}, nil
	}

	abs, err := filepath.Abs(dir)
	if err != nil {
		return Command{}, fmt.Errorf("app dir %s: %w", dir, err)
	}
	var module, attr string
	if entrypoint != "" {
		module, attr, err = ParseEntrypoint(entrypoint)
	} else {
		module, attr, err = findApp(abs)
	}
	if err != nil {
		return Command{}, err
	}

	pathEnv, probe, system := opts.PathEnv, opts.Probe, opts.SystemPython
	if pathEnv == "" {
		pathEnv = os.Getenv("PATH")
	}
	if probe == nil {
		probe = ProbeUvicorn
	}
	if system == "" {
		system = SystemPython
	}
	python, err := choosePython(pythonCandidates(abs, pathEnv, system), probe)
	if err != nil {
		return Command{}, err
	}

	if _, ok := env["PYTHONUNBUFFERED"]; !ok {
		env["PYTHONUNBUFFERED"] = "1"
	}
	target := module + ":" + attr
	return Command{
		Args:        []string{python, "-m", "uvicorn", target, "--host", "0.0.0.0", "--port", "$PORT", "--no-access-log"},
		Env:         env,
		Runtime:     RuntimePythonASGI,
		Description: fmt.Sprintf("uvicorn %s on %s", target, python),
	}, nil
}
