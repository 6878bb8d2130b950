package export

import (
	"os/exec"
	"strings"
	"testing"
)

func TestCommandLine(t *testing.T) {
	tests := []struct {
		cmd  []string
		want []string
	}{
		{[]string{"./server", "-p", "8080"}, []string{"./server", "-p", "8080"}},
		{[]string{"node", "index.js", "$PORT"}, []string{"/bin/sh", "-c", `exec 'node' 'index.js' "$PORT"`}},
		{[]string{"srv", "--listen=:${PORT}", ""}, []string{"/bin/sh", "-c", `exec 'srv' '--listen=:'"${PORT}" ''`}},
	}
	for _, tt := range tests {
		got := commandLine(tt.cmd)
		if strings.Join(got, "\x00") != strings.Join(tt.want, "\x00") {
			t.Errorf("commandLine(%q) = %q, want %q", tt.cmd, got, tt.want)
		}
	}
}

// TestShellWordRoundTrip runs the generated shell words through sh and checks the arguments arrive intact.
func TestShellWordRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("needs sh on PATH: ", err)
	}
	args := []string{"plain", "it's", "a b", `"q"`, "--port=$PORT", "${PORT}x", "", `back\slash`, "$HOME"}
	want := []string{"plain", "it's", "a b", `"q"`, "--port=8080", "8080x", "", `back\slash`, "$HOME"}
	argv := commandLine(append([]string{"printf", "[%s]"}, args...))
	c := exec.Command(sh, argv[1:]...)
	c.Env = []string{"PORT=8080", "HOME=/nowhere", "PATH=/usr/bin:/bin"}
	out, err := c.Output()
	if err != nil {
		t.Fatalf("run %q: %v", argv, err)
	}
	var b strings.Builder
	for _, w := range want {
		b.WriteString("[" + w + "]")
	}
	if string(out) != b.String() {
		t.Errorf("sh saw %s, want %s", out, b.String())
	}
}

func TestDockerfileRuntimes(t *testing.T) {
	in := autoscaleCPU()
	asgi := Dockerfile(in, []string{"ignored"})
	for _, want := range []string{"FROM python:3.11-slim", "pip install --no-cache-dir fastapi uvicorn", "requirements.txt",
		`CMD ["uvicorn","app:app","--host","0.0.0.0","--port","8080"]`} {
		if !strings.Contains(asgi, want) {
			t.Errorf("asgi Dockerfile lacks %q:\n%s", want, asgi)
		}
	}
	in.Entrypoint = ""
	bin := Dockerfile(in, []string{"./server"})
	if !strings.Contains(bin, "FROM debian:bookworm-slim") || !strings.Contains(bin, `CMD ["./server"]`) || strings.Contains(bin, "pip") {
		t.Errorf("command Dockerfile:\n%s", bin)
	}
	none := Dockerfile(in, nil)
	if strings.Contains(none, "\nCMD ") || !strings.Contains(none, "add a CMD") {
		t.Errorf("Dockerfile without a command has a CMD:\n%s", none)
	}
	if !strings.Contains(none, "ENV PORT=8080") {
		t.Errorf("Dockerfile lacks ENV PORT=8080:\n%s", none)
	}
}
