package export

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
)

// Dockerfile writes a Dockerfile that builds the app in its directory (the build context) and starts it on port 8080.
// A python-asgi app (in.Entrypoint "module:attr") runs under uvicorn with fastapi and uvicorn installed,
// plus requirements.txt when the directory has one; a command app runs cmd as given, with "$PORT" expanded.
func Dockerfile(in Input, cmd []string) string {
	var b strings.Builder
	if in.Entrypoint != "" {
		fmt.Fprintf(&b, "# fnrun app %s (python-asgi %s), built from the app directory.\n", in.Name, in.Entrypoint)
		b.WriteString("FROM python:3.11-slim\n")
		b.WriteString("WORKDIR /app\n")
		fmt.Fprintf(&b, "ENV PORT=%d PYTHONUNBUFFERED=1\n", ContainerPort)
		b.WriteString("COPY . /app\n")
		b.WriteString("RUN pip install --no-cache-dir fastapi uvicorn \\\n")
		b.WriteString(" && if [ -f requirements.txt ]; then pip install --no-cache-dir -r requirements.txt; fi\n")
		fmt.Fprintf(&b, "EXPOSE %d\n", ContainerPort)
		fmt.Fprintf(&b, "CMD %s\n", execForm([]string{"uvicorn", in.Entrypoint, "--host", "0.0.0.0", "--port", fmt.Sprint(ContainerPort)}))
		return b.String()
	}
	fmt.Fprintf(&b, "# fnrun app %s (command), built from the app directory.\n", in.Name)
	python := len(cmd) > 0 && isPython(cmd[0])
	if python {
		b.WriteString("FROM python:3.11-slim\n")
	} else {
		b.WriteString("# Change FROM to an image that has what the command needs.\n")
		b.WriteString("FROM debian:bookworm-slim\n")
	}
	b.WriteString("WORKDIR /app\n")
	fmt.Fprintf(&b, "ENV PORT=%d\n", ContainerPort)
	b.WriteString("COPY . /app\n")
	if python {
		b.WriteString("RUN if [ -f requirements.txt ]; then pip install --no-cache-dir -r requirements.txt; fi\n")
	}
	fmt.Fprintf(&b, "EXPOSE %d\n", ContainerPort)
	if len(cmd) == 0 {
		b.WriteString("# fnrun found no command to start the app: add a CMD.\n")
		return b.String()
	}
	fmt.Fprintf(&b, "CMD %s\n", execForm(commandLine(cmd)))
	return b.String()
}

// isPython reports whether argv0 names a python interpreter or a python server.
func isPython(argv0 string) bool {
	base := filepath.Base(argv0)
	return strings.HasPrefix(base, "python") || base == "uvicorn" || base == "gunicorn" || base == "hypercorn"
}

// commandLine is cmd as an exec argv; when an argument mentions $PORT it goes through sh -c so the variable expands.
func commandLine(cmd []string) []string {
	needsShell := false
	for _, a := range cmd {
		if strings.Contains(a, "$PORT") || strings.Contains(a, "${PORT}") {
			needsShell = true
		}
	}
	if !needsShell {
		return cmd
	}
	words := make([]string, len(cmd))
	for i, a := range cmd {
		words[i] = shellWord(a)
	}
	return []string{"/bin/sh", "-c", "exec " + strings.Join(words, " ")}
}

// shellWord single-quotes s for sh, leaving $PORT and ${PORT} to expand.
func shellWord(s string) string {
	if s == "" {
		return "''"
	}
	quoted := "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	quoted = strings.ReplaceAll(quoted, "${PORT}", `'"${PORT}"'`)
	quoted = strings.ReplaceAll(quoted, "$PORT", `'"$PORT"'`)
	return strings.TrimSuffix(strings.TrimPrefix(quoted, "''"), "''")
}

// execForm writes argv as a Dockerfile exec-form JSON array.
func execForm(argv []string) string {
	out, err := json.Marshal(argv)
	if err != nil { // a []string always marshals
		panic(err)
	}
	return string(out)
}
