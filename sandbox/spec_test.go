package sandbox

import (
	"reflect"
	"testing"

	"github.com/fnrun/fnrun/runtime"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func mustInstance(t *testing.T, name string) runtime.Instance {
	t.Helper()
	i, err := runtime.LookupInstance(name)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func TestBuildSpec(t *testing.T) {
	base := Replica{
		App: "fastapi-2a94b25a5f", Revision: "00001", Hostname: "fastapi-2a94b25a5f-00001-7k2pq",
		Args: []string{"uvicorn", "main:app", "--port", "$PORT", "--bind=0.0.0.0:${PORT}", "$PORTX"},
		Env:  map[string]string{"FOO": "bar", "PORT": "1", "PATH": "/opt/bin"},
		Dir:  "/var/lib/fnrun/apps/x/code",
	}
	tests := []struct {
		name      string
		instance  string
		wantQuota int64
		wantMem   int64
	}{
		{"C1 is a tenth of a core", "C1", 10000, 1 << 30 / 5},
		{"C2 is half a core", "C2", 50000, 1 << 30},
		{"C3 is one core", "C3", 100000, 2 << 30},
		{"C5 is four cores", "C5", 400000, 8 << 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			r.Instance = mustInstance(t, tc.instance)
			s := BuildSpec(r, 41234)
			if got := *s.Linux.Resources.CPU.Quota; got != tc.wantQuota {
				t.Errorf("quota = %d, want %d", got, tc.wantQuota)
			}
			if got := *s.Linux.Resources.CPU.Period; got != 100000 {
				t.Errorf("period = %d, want 100000", got)
			}
			if got := *s.Linux.Resources.Memory.Limit; got != tc.wantMem {
				t.Errorf("memory = %d, want %d", got, tc.wantMem)
			}
			if got := *s.Linux.Resources.Memory.Swap; got != tc.wantMem {
				t.Errorf("memory+swap = %d, want %d (no swap)", got, tc.wantMem)
			}
			if got := *s.Linux.Resources.Pids.Limit; got != 512 {
				t.Errorf("pids = %d, want 512", got)
			}
			wantArgs := []string{"uvicorn", "main:app", "--port", "41234", "--bind=0.0.0.0:41234", "$PORTX"}
			if !reflect.DeepEqual(s.Process.Args, wantArgs) {
				t.Errorf("args = %q, want %q", s.Process.Args, wantArgs)
			}
			wantEnv := []string{
				"FOO=bar", "HOME=/tmp", "HOSTNAME=fastapi-2a94b25a5f-00001-7k2pq",
				"K_REVISION=fastapi-2a94b25a5f-00001", "K_SERVICE=fastapi-2a94b25a5f",
				"PATH=/opt/bin", "PORT=41234",
			}
			if !reflect.DeepEqual(s.Process.Env, wantEnv) {
				t.Errorf("env = %q, want %q", s.Process.Env, wantEnv)
			}
			if s.Process.Cwd != r.Dir || s.Hostname != r.Hostname {
				t.Errorf("cwd, hostname = %q, %q", s.Process.Cwd, s.Hostname)
			}
			if want := "fastapi-2a94b25a5f/fastapi-2a94b25a5f-00001-7k2pq"; s.Linux.CgroupsPath != want {
				t.Errorf("cgroupsPath = %q, want %q", s.Linux.CgroupsPath, want)
			}
		})
	}
}

func TestBuildSpecNamespacesAndDefaults(t *testing.T) {
	s := BuildSpec(Replica{App: "a", Revision: "1", Hostname: "a-1-x", Args: []string{"x"}}, 80)
	have := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range s.Linux.Namespaces {
		have[ns.Type] = true
	}
	for _, want := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.MountNamespace, specs.UTSNamespace, specs.IPCNamespace} {
		if !have[want] {
			t.Errorf("namespace %s missing from %v", want, s.Linux.Namespaces)
		}
	}
	if !s.Process.NoNewPrivileges {
		t.Error("NoNewPrivileges not set")
	}
	if len(s.Mounts) != 2 || s.Mounts[1].Destination != "/tmp" || s.Mounts[1].Type != "tmpfs" {
		t.Errorf("mounts = %+v, want proc and a private tmpfs /tmp", s.Mounts)
	}
	if got := envValue(s.Process.Env, "PATH"); got != DefaultPath {
		t.Errorf("PATH = %q, want default %q", got, DefaultPath)
	}
	if s.Linux.Resources.CPU != nil || s.Linux.Resources.Memory != nil {
		t.Errorf("zero instance must set no cpu/memory limit, got %+v", s.Linux.Resources)
	}
}

func TestExpandPort(t *testing.T) {
	tests := []struct{ in, want string }{
		{"$PORT", "8080"},
		{"${PORT}", "8080"},
		{":$PORT/x", ":8080/x"},
		{"$PORT$PORT", "80808080"},
		{"$PORTS", "$PORTS"},
		{"$PORT_X", "$PORT_X"},
		{"no port", "no port"},
		{"$POR", "$POR"},
	}
	for _, tc := range tests {
		if got := expandPort(tc.in, 8080); got != tc.want {
			t.Errorf("expandPort(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestReplicaValidate(t *testing.T) {
	ok := Replica{App: "a", Hostname: "a-1-x", Args: []string{"x"}}
	tests := []struct {
		name    string
		mut     func(*Replica)
		wantErr bool
	}{
		{"valid", func(*Replica) {}, false},
		{"no app", func(r *Replica) { r.App = "" }, true},
		{"slash in hostname", func(r *Replica) { r.Hostname = "a/b" }, true},
		{"dot dot", func(r *Replica) { r.Hostname = ".." }, true},
		{"no args", func(r *Replica) { r.Args = nil }, true},
	}
	for _, tc := range tests {
		r := ok
		tc.mut(&r)
		if err := r.validate(); (err != nil) != tc.wantErr {
			t.Errorf("%s: validate() = %v, wantErr %v", tc.name, err, tc.wantErr)
		}
	}
}

func TestCloneFlags(t *testing.T) {
	s := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.UTSNamespace}, {Type: specs.PIDNamespace}}}}
	if got, want := cloneFlags(s), uintptr(0x04000000|0x20000000); got != want {
		t.Errorf("cloneFlags = %#x, want %#x", got, want)
	}
}
