//go:build bench

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/fnrun/fnrun/runtime"
	"github.com/fnrun/fnrun/sandbox"
)

// coldPoll is how often every cold start polls its server for the first 200.
const coldPoll = time.Millisecond

// starter starts one copy of the static server and returns its address and a stop function.
type starter struct {
	name  string
	what  string // the row's description in the table
	start func(i int) (addr string, stop func() error, err error)
	times []float64 // ms from the start request to the first 200
	ret   []float64 // ms from the start request until the start call returned
	err   error     // set when this starter stopped working
}

// TestBenchColdStart measures the time from the start request to the first 200 of a static Go
// HTTP server, for plain fork/exec (the floor), a fnrun sandbox (cgroup + namespaces + veth +
// init) and `runc run` of the same binary, interleaved, FNRUN_BENCH_STARTS (50) times each.
func TestBenchColdStart(t *testing.T) {
	needRoot(t)
	n := envInt("FNRUN_BENCH_STARTS", 50)
	instName := envString("FNRUN_BENCH_INSTANCE", "C3")
	inst, err := runtime.LookupInstance(instName)
	if err != nil {
		t.Fatal(err)
	}
	work, err := os.MkdirTemp("/var/lib", "fnrun-bench-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	if err := os.Chmod(work, 0o755); err != nil { // replicas run as the unprivileged fnrun user
		t.Fatal(err)
	}
	server := filepath.Join(work, "app", "spinserver")
	build := exec.Command("go", "build", "-trimpath", "-o", server, "./integration/testdata/spinserver")
	build.Dir, build.Env = repoRoot, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build static spinserver: %v\n%s", err, out)
	}

	execS := &starter{name: "exec", what: "plain fork/exec of the binary (the floor)", start: func(int) (string, func() error, error) {
		return startExec(server)
	}}
	fn, err := newFnrunStarter(t, work, server, inst)
	if err != nil {
		t.Fatal(err)
	}
	all := []*starter{execS, fn}
	for _, rt := range []string{"runc", "crun"} {
		s := &starter{name: rt, what: "`" + rt + " run -d` of a bundle whose rootfs is the binary, same limits, host network"}
		if start, err := newOCIStarter(t, rt, work, server, inst); err != nil {
			s.err = err
		} else {
			s.start = start
		}
		all = append(all, s)
	}

	// One warm-up start each (page cache, first cgroup creation), not counted.
	for _, s := range all {
		if s.err == nil {
			if _, _, err := coldStartOnce(s, -1); err != nil {
				s.err = err
			}
		}
	}
	for i := 0; i < n; i++ {
		for _, s := range all { // interleaved, so that background load hits all alike
			if s.err != nil {
				continue
			}
			d, r, err := coldStartOnce(s, i)
			if err != nil {
				s.err = fmt.Errorf("start %d: %w", i+1, err)
				continue
			}
			s.times, s.ret = append(s.times, d), append(s.ret, r)
		}
	}
	writeSection(t, "coldstart", coldStartTable(n, inst, all))
	for _, s := range all[:2] {
		if s.err != nil {
			t.Errorf("%s: %v", s.name, s.err)
		}
	}
}

// coldStartOnce starts s, waits for the first 200 and stops it; it returns the milliseconds
// until the first 200 and until the start call returned.
func coldStartOnce(s *starter, i int) (first, returned float64, err error) {
	t0 := time.Now()
	addr, stop, err := s.start(i)
	if err != nil {
		return 0, 0, err
	}
	returned = float64(time.Since(t0).Microseconds()) / 1000
	t1, err := waitHTTP200(addr, coldPoll, t0.Add(30*time.Second))
	serr := stop()
	if err != nil {
		return 0, 0, err
	}
	if serr != nil {
		return 0, 0, fmt.Errorf("stop: %w", serr)
	}
	return float64(t1.Sub(t0).Microseconds()) / 1000, returned, nil
}

func freeTCPPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startExec starts the server with plain fork/exec on a free loopback port.
func startExec(server string) (string, func() error, error) {
	port, err := freeTCPPort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(server)
	cmd.Env = []string{"PORT=" + strconv.Itoa(port)}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	return "127.0.0.1:" + strconv.Itoa(port), func() error {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil
	}, nil
}

// newFnrunStarter starts replicas through sandbox.Manager.Start exactly as fnrund does (its
// binary is the init), on a bridge and cgroup root of the benchmark's own.
func newFnrunStarter(t *testing.T, work, server string, inst runtime.Instance) (*starter, error) {
	root := fmt.Sprintf("/fnrun-bench-%d", os.Getpid())
	bridge := fmt.Sprintf("fnbench%d", os.Getpid()%10000)
	recordOwned(t, "cgroup", root)
	recordOwned(t, "bridge", bridge)
	m, err := sandbox.New(sandbox.Config{
		CgroupRoot: root,
		StateDir:   work,
		InitPath:   bins.fnrund, // fnrund serves as the init (sandbox.IsInit in its main)
		StopGrace:  3 * time.Second,
		Bridge:     bridge,
		Subnet:     "10.236.0.0/24",
	})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		if err := m.RemoveRoot(); err != nil {
			t.Errorf("remove bench cgroup root: %v", err)
		}
		_ = exec.Command("ip", "link", "del", bridge).Run()
	})
	return &starter{
		name: "fnrun",
		what: fmt.Sprintf("`sandbox.Manager.Start` (%s cgroup, pid/net/mount/uts/ipc namespaces, veth on a bridge, init) as fnrund does", inst.Name),
		start: func(i int) (string, func() error, error) {
			sb, err := m.Start(context.Background(), sandbox.Replica{
				App:      "coldstart",
				Revision: "00001",
				Hostname: fmt.Sprintf("cold-%d", i+2),
				Args:     []string{server},
				Dir:      filepath.Dir(server),
				Instance: inst,
			})
			if err != nil {
				return "", nil, err
			}
			return sb.Address(), func() error { return sb.Stop(3 * time.Second) }, nil
		},
	}, nil
}

// newOCIStarter prepares an OCI bundle (rootfs = the static binary; config.json from `runc
// spec`, without a terminal, sharing the host's network namespace, with the instance's limits)
// and returns a start function that runs `<rt> run -d` of it (rt: runc or crun).
func newOCIStarter(t *testing.T, rt, work, server string, inst runtime.Instance) (func(int) (string, func() error, error), error) {
	runc, err := exec.LookPath(rt)
	if err != nil {
		return nil, fmt.Errorf("%s is not installed", rt)
	}
	specTool, err := exec.LookPath("runc")
	if err != nil {
		specTool = runc
	}
	bundle := filepath.Join(work, rt)
	if err := os.MkdirAll(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(server)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(bundle, "rootfs", "spinserver"), data, 0o755); err != nil {
		return nil, err
	}
	spc := exec.Command(specTool, "spec")
	spc.Dir = bundle
	if out, err := spc.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s spec: %v: %s", specTool, err, out)
	}
	var spec specs.Spec
	raw, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, err
	}
	stateRoot := fmt.Sprintf("/run/fnrun-bench-%s-%d", rt, os.Getpid())
	cgRoot := fmt.Sprintf("/fnrun-bench-%s-%d", rt, os.Getpid())
	recordOwned(t, rt+"-root", stateRoot)
	recordOwned(t, "cgroup", cgRoot)
	t.Cleanup(func() {
		os.RemoveAll(stateRoot)
		removeCgroupEverywhere(cgRoot)
	})
	quota := inst.MilliCores * 100 // µs per 100 ms period
	period := uint64(100000)
	mem := inst.MemoryBytes
	spec.Process.Terminal = false
	spec.Process.Args = []string{"/spinserver"}
	spec.Root.Readonly = true
	spec.Linux.Namespaces = withoutNS(spec.Linux.Namespaces, specs.NetworkNamespace)
	if spec.Linux.Resources == nil {
		spec.Linux.Resources = &specs.LinuxResources{}
	}
	spec.Linux.Resources.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
	spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &mem}
	env := spec.Process.Env
	return func(i int) (string, func() error, error) {
		port, err := freeTCPPort()
		if err != nil {
			return "", nil, err
		}
		id := fmt.Sprintf("cold-%d", i+2)
		spec.Hostname = id
		spec.Process.Env = append(append([]string(nil), env...), "PORT="+strconv.Itoa(port))
		spec.Linux.CgroupsPath = cgRoot + "/" + id
		b, err := json.Marshal(&spec)
		if err != nil {
			return "", nil, err
		}
		if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
			return "", nil, err
		}
		// Counted from here: the config is written beforehand, like fnrun's spec is built in memory.
		// The detached container inherits runc's stdio: a file, not a pipe Wait would wait on.
		logf, err := os.Create(filepath.Join(bundle, "runc.log"))
		if err != nil {
			return "", nil, err
		}
		cmd := exec.Command(runc, "--root", stateRoot, "run", "-d", "--bundle", bundle, id)
		cmd.Stdout, cmd.Stderr = logf, logf
		err = cmd.Run()
		logf.Close()
		if err != nil {
			out, _ := os.ReadFile(filepath.Join(bundle, "runc.log"))
			_ = exec.Command(runc, "--root", stateRoot, "delete", "-f", id).Run()
			return "", nil, fmt.Errorf("%s run: %v: %s", rt, err, strings.TrimSpace(string(out)))
		}
		return "127.0.0.1:" + strconv.Itoa(port), func() error {
			if out, err := exec.Command(runc, "--root", stateRoot, "delete", "-f", id).CombinedOutput(); err != nil {
				return fmt.Errorf("%s delete %s: %v: %s", rt, id, err, out)
			}
			return nil
		}, nil
	}, nil
}

func withoutNS(nss []specs.LinuxNamespace, typ specs.LinuxNamespaceType) []specs.LinuxNamespace {
	var out []specs.LinuxNamespace
	for _, ns := range nss {
		if ns.Type != typ {
			out = append(out, ns)
		}
	}
	return out
}

// coldStartTable renders the cold-start section.
func coldStartTable(n int, inst runtime.Instance, all []*starter) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Cold start: start request → first HTTP 200\n\n")
	fmt.Fprintf(&b, "Machine: %s.\n\n", machine())
	fmt.Fprintf(&b, "Command: `FNRUN_BENCH_STARTS=%d FNRUN_BENCH_INSTANCE=%s go test -tags bench -run '^TestBenchColdStart$' ./integration/` (via `make bench-coldstart`).\n", n, inst.Name)
	fmt.Fprintf(&b, "The server is `integration/testdata/spinserver` built with `CGO_ENABLED=0` (static); each start is timed from the start request until `GET /` answers 200, polled every %s over a fresh connection, then the server is stopped. Starts are interleaved (exec, fnrun, runc, crun, exec, …) after one uncounted warm-up each; %d counted starts per row.\n\n", coldPoll, n)
	fmt.Fprintf(&b, "| runtime | what starts | n | min ms | p50 ms | p99 ms | max ms | p50 / exec p50 | start call returned, p50 ms |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	base := summarize(all[0].times).P50
	for _, s := range all {
		if len(s.times) == 0 {
			fmt.Fprintf(&b, "| %s | %s | 0 | – | – | – | – | not measured: %s | – |\n", s.name, s.what, oneLine(s.err))
			continue
		}
		st := summarize(s.times)
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s | %.2f× | %s |\n", s.name, s.what, st.N, ms(st.Min), ms(st.P50), ms(st.P99), ms(st.Max), st.P50/base, ms(median(s.ret)))
	}
	for _, s := range all {
		if s.err != nil && len(s.times) > 0 {
			fmt.Fprintf(&b, "\n%s stopped after %d starts: %s\n", s.name, len(s.times), oneLine(s.err))
		}
	}
	if fn, ex := summarize(all[1].times), summarize(all[0].times); fn.N > 0 && ex.N > 0 {
		verdict := "met"
		if fn.P50 > 1.5*ex.P50 {
			verdict = "NOT met"
		}
		fmt.Fprintf(&b, "\nGoal fnrun p50 ≤ 1.5 × exec p50: %s (%.2f×).\n", verdict, fn.P50/ex.P50)
	}
	return b.String()
}

// oneLine shortens an error to one table-safe line.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	s := strings.ReplaceAll(err.Error(), "\n", " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// removeCgroupEverywhere removes the (empty) cgroup root in every mounted hierarchy: runc
// creates its cgroups in all of them (blkio, cpuset, devices, systemd, unified, …).
func removeCgroupEverywhere(root string) {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + root)
	for _, d := range dirs {
		var sub []string
		_ = filepath.Walk(d, func(p string, info os.FileInfo, err error) error {
			if err == nil && info.IsDir() {
				sub = append(sub, p)
			}
			return nil
		})
		for i := len(sub) - 1; i >= 0; i-- {
			_ = os.Remove(sub[i])
		}
	}
}
