package runtime

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// ErrNoApp is returned when an app directory holds no recognisable ASGI app.
var ErrNoApp = errors.New("no app found")

// asgiApp matches a top-level assignment of an ASGI application, e.g.
// "app = FastAPI(", "api: Starlette = Starlette(" or "app = fastapi.FastAPI(".
var asgiApp = regexp.MustCompile(`(?m)^([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?::[^=\n]*)?=[ \t]*(?:[A-Za-z_][A-Za-z0-9_]*\.)*(?:FastAPI|Starlette|Quart|Litestar|Sanic|get_asgi_application)[ \t]*\(`)

// maxScan is how much of a Python file findApp reads.
const maxScan = 1 << 20

// findApp looks for an ASGI app in dir: main.py, then app.py, then the one other
// *.py file defining an app. It returns the module and attribute for uvicorn.
func findApp(dir string) (module, attr string, err error) {
	noApp := fmt.Errorf("%w in %s: pass MODULE:ATTR (e.g. app:app) or set command: in fnrun.yml", ErrNoApp, dir)
	for _, name := range []string{"main.py", "app.py"} {
		attr, err := scanApp(filepath.Join(dir, name))
		if err != nil {
			return "", "", err
		}
		if attr != "" {
			return strings.TrimSuffix(name, ".py"), attr, nil
		}
	}
	others, err := filepath.Glob(filepath.Join(dir, "*.py"))
	if err != nil {
		return "", "", fmt.Errorf("list python files in %s: %w", dir, err)
	}
	slices.Sort(others)
	type found struct{ module, attr string }
	var apps []found
	for _, path := range others {
		name := filepath.Base(path)
		module := strings.TrimSuffix(name, ".py")
		if name == "main.py" || name == "app.py" || !isIdentifier(module) {
			continue
		}
		attr, err := scanApp(path)
		if err != nil {
			return "", "", err
		}
		if attr != "" {
			apps = append(apps, found{module, attr})
		}
	}
	switch len(apps) {
	case 0:
		return "", "", noApp
	case 1:
		return apps[0].module, apps[0].attr, nil
	}
	names := make([]string, len(apps))
	for i, a := range apps {
		names[i] = a.module + ":" + a.attr
	}
	return "", "", fmt.Errorf("%w in %s: several candidates (%s): pass one as MODULE:ATTR", ErrNoApp, dir, strings.Join(names, ", "))
}

// scanApp returns the name of the first ASGI app assigned at the top level of the
// Python file at path, or "" when there is none or the file does not exist.
func scanApp(path string) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxScan))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if m := asgiApp.FindSubmatch(src); m != nil {
		return string(m[1]), nil
	}
	return "", nil
}
