package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrNoPython is returned when no candidate Python can import uvicorn.
var ErrNoPython = errors.New("no python can import uvicorn")

// SystemPython is the Debian interpreter tried after everything on PATH.
const SystemPython = "/usr/bin/python3"

// ProbeTimeout bounds the default probe of one interpreter (a cold import of uvicorn under
// software emulation, as in the cgroup v2 test VM, has taken over 10 s).
const ProbeTimeout = 30 * time.Second

// pythonCandidates lists, without duplicates, the interpreters to try in order:
// dir/.venv/bin/python, every python3 on pathEnv, then system. Only existing
// executable files are listed; relative PATH entries are skipped.
func pythonCandidates(dir, pathEnv, system string) []string {
	var out []string
	var infos []os.FileInfo
	add := func(p string) {
		if p == "" || !filepath.IsAbs(p) {
			return
		}
		p = filepath.Clean(p)
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			return
		}
		// Lstat, not Stat: a venv's python is a symlink to the system one but
		// imports from the venv, while /bin/python3 on a merged-/usr system is
		// the very same link as /usr/bin/python3.
		li, err := os.Lstat(p)
		if err != nil {
			return
		}
		for i, q := range out {
			if q == p || os.SameFile(infos[i], li) {
				return
			}
		}
		out = append(out, p)
		infos = append(infos, li)
	}
	add(filepath.Join(dir, ".venv", "bin", "python"))
	for _, d := range filepath.SplitList(pathEnv) {
		if d != "" {
			add(filepath.Join(d, "python3"))
		}
	}
	add(system)
	return out
}

// choosePython returns the first candidate whose probe succeeds.
func choosePython(candidates []string, probe func(string) error) (string, error) {
	if len(candidates) == 0 {
		return "", fmt.Errorf("%w: found no python (looked for .venv/bin/python, python3 on PATH and %s); install uvicorn (Debian: apt-get install python3-uvicorn python3-fastapi) or add a .venv", ErrNoPython, SystemPython)
	}
	tried := make([]string, 0, len(candidates))
	for _, p := range candidates {
		err := probe(p)
		if err == nil {
			return p, nil
		}
		tried = append(tried, fmt.Sprintf("%s (%s)", p, oneLine(err.Error())))
	}
	return "", fmt.Errorf("%w: tried %s; install uvicorn (Debian: apt-get install python3-uvicorn python3-fastapi) or add a .venv", ErrNoPython, strings.Join(tried, ", "))
}

// ProbeUvicorn runs `python -c "import uvicorn"` with a ProbeTimeout limit and
// returns nil when the import works, else the last line Python printed
// (e.g. "ModuleNotFoundError: No module named 'uvicorn'").
func ProbeUvicorn(python string) error {
	ctx, cancel := context.WithTimeout(context.Background(), ProbeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", "import uvicorn")
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("import uvicorn timed out after %s", ProbeTimeout)
	}
	if line := lastLine(stderr.String()); line != "" {
		return errors.New(line)
	}
	return fmt.Errorf("import uvicorn: %w", err)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
