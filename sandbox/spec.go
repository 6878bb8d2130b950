package sandbox

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const (
	// CPUPeriodUsec is the CFS period in microseconds every replica's quota is expressed in.
	CPUPeriodUsec = 100000
	// PidsLimit is the maximum number of tasks in one replica's cgroup.
	PidsLimit = 512
	// DefaultPath is the PATH a replica gets unless its environment sets one.
	DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

	annotationApp      = "fnrun.app"
	annotationRevision = "fnrun.revision"
	annotationPort     = "fnrun.port"
	annotationIP       = "fnrun.ip"
)

// BuildSpec returns the OCI runtime spec of replica r listening on port: its
// process (argv with $PORT expanded, environment, working directory),
// hostname, namespaces and resources. Its cgroupsPath is "<app>/<hostname>",
// relative to the Manager's root. BuildSpec performs no I/O.
func BuildSpec(r Replica, port int) *specs.Spec {
	args := make([]string, len(r.Args))
	for i, a := range r.Args {
		args[i] = expandPort(a, port)
	}
	return &specs.Spec{
		Version:  specs.Version,
		Hostname: r.Hostname,
		Process: &specs.Process{
			Args:            args,
			Env:             buildEnv(r, port),
			Cwd:             r.Dir,
			NoNewPrivileges: true,
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "nodev", "noexec"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}},
		},
		Annotations: map[string]string{
			annotationApp:      r.App,
			annotationRevision: r.Revision,
			annotationPort:     strconv.Itoa(port),
		},
		Linux: &specs.Linux{
			CgroupsPath: r.App + "/" + r.Hostname,
			Namespaces:  namespaces(),
			Resources:   resources(r),
		},
	}
}

// namespaces lists the namespaces every replica gets.
func namespaces() []specs.LinuxNamespace {
	return []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.NetworkNamespace},
		{Type: specs.MountNamespace},
		{Type: specs.UTSNamespace},
		{Type: specs.IPCNamespace},
	}
}

// withoutNamespace returns spec's namespaces less typ.
func withoutNamespace(nss []specs.LinuxNamespace, typ specs.LinuxNamespaceType) []specs.LinuxNamespace {
	var out []specs.LinuxNamespace
	for _, ns := range nss {
		if ns.Type != typ {
			out = append(out, ns)
		}
	}
	return out
}

// hasNamespace reports whether spec asks for a namespace of type typ.
func hasNamespace(spec *specs.Spec, typ specs.LinuxNamespaceType) bool {
	if spec.Linux == nil {
		return false
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == typ {
			return true
		}
	}
	return false
}

func resources(r Replica) *specs.LinuxResources {
	res := &specs.LinuxResources{}
	if mc := r.Instance.MilliCores; mc > 0 {
		quota := mc * CPUPeriodUsec / 1000
		period := uint64(CPUPeriodUsec)
		res.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
	}
	if mb := r.Instance.MemoryBytes; mb > 0 {
		limit, swap := mb, mb // memory+swap == memory: the replica never swaps
		res.Memory = &specs.LinuxMemory{Limit: &limit, Swap: &swap}
	}
	res.Pids = &specs.LinuxPids{Limit: ptr(int64(PidsLimit))}
	return res
}

func ptr[T any](v T) *T { return &v }

// buildEnv returns the replica's environment, sorted: a default PATH and
// HOME, then r.Env, then the platform variables, which r.Env cannot override.
func buildEnv(r Replica, port int) []string {
	env := map[string]string{"PATH": DefaultPath, "HOME": "/tmp"}
	for k, v := range r.Env {
		env[k] = v
	}
	env["PORT"] = strconv.Itoa(port)
	env["HOSTNAME"] = r.Hostname
	env["K_SERVICE"] = r.App
	env["K_REVISION"] = r.App + "-" + r.Revision
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// expandPort replaces "${PORT}" and "$PORT" (not followed by an identifier
// character) in s with port.
func expandPort(s string, port int) string {
	p := strconv.Itoa(port)
	s = strings.ReplaceAll(s, "${PORT}", p)
	var b strings.Builder
	for {
		i := strings.Index(s, "$PORT")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len("$PORT")
		if end < len(s) && isIdentChar(s[end]) {
			b.WriteString(s[:end])
		} else {
			b.WriteString(s[:i])
			b.WriteString(p)
		}
		s = s[end:]
	}
}

func isIdentChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// envValue returns the value of key in an environment list.
func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// validate reports a replica that cannot be started.
func (r Replica) validate() error {
	switch {
	case r.App == "" || strings.ContainsAny(r.App, "/."):
		return fmt.Errorf("replica %q: app %q is not a DNS label", r.Hostname, r.App)
	case r.Hostname == "" || strings.ContainsAny(r.Hostname, "/.") || len(r.Hostname) > 63:
		return fmt.Errorf("replica hostname %q is not a DNS label", r.Hostname)
	case len(r.Args) == 0:
		return fmt.Errorf("replica %s: no command", r.Hostname)
	}
	return nil
}
