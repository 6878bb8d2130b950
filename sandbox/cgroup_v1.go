package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/cgroups/v3/cgroup1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v1Controllers are the only v1 hierarchies the sandbox uses.
var v1Controllers = []string{"cpu", "cpuacct", "memory", "pids", "freezer"}

// v1Driver manages cgroups under <mount>/<controller>/<base> for each of
// v1Controllers on a legacy or hybrid host.
type v1Driver struct {
	mount string // "/sys/fs/cgroup"
	base  string // "/fnrun"
}

func (d v1Driver) mode() Mode    { return ModeV1 }
func (d v1Driver) group() string { return d.base }
func (d v1Driver) root() string {
	return filepath.Join(d.mount, "{"+strings.Join(v1Controllers, ",")+"}", d.base)
}

// ctrlDir is rel's directory in controller's hierarchy.
func (d v1Driver) ctrlDir(ctrl, rel string) string {
	return filepath.Join(d.mount, ctrl, d.base, rel)
}

func (d v1Driver) dirs(rel string) []string {
	out := make([]string, len(v1Controllers))
	for i, c := range v1Controllers {
		out[i] = d.ctrlDir(c, rel)
	}
	return out
}

// hierarchy is the cgroup1.Hierarchy of v1Controllers only, so the library
// never touches cpuset, devices, blkio or the systemd hierarchy.
func (d v1Driver) hierarchy() ([]cgroup1.Subsystem, error) {
	return []cgroup1.Subsystem{
		cgroup1.NewCpu(d.mount),
		cgroup1.NewCpuacct(d.mount),
		cgroup1.NewMemory(d.mount),
		cgroup1.NewPids(d.mount),
		cgroup1.NewFreezer(d.mount),
	}, nil
}

func (d v1Driver) create(rel string, res *specs.LinuxResources) (leaf, error) {
	if res.Memory != nil && res.Memory.Swap != nil && !exists(filepath.Join(d.mount, "memory", "memory.memsw.limit_in_bytes")) {
		m := *res.Memory
		m.Swap = nil // no swap accounting on this kernel
		r := *res
		r.Memory = &m
		res = &r
	}
	path := filepath.Join(d.base, rel)
	cg, err := cgroup1.New(cgroup1.StaticPath(path), res, cgroup1.WithHierarchy(d.hierarchy))
	if err != nil {
		_ = rmdirs(d.dirs(rel))
		return nil, fmt.Errorf("create cgroup %s: %w", filepath.Join(d.mount, "cpu", path), err)
	}
	return &v1Leaf{d: d, rel: rel, cg: cg}, nil
}

func (d v1Driver) relDirs() ([]string, error) {
	var all []string
	for _, c := range v1Controllers {
		rels, err := subdirs(filepath.Join(d.mount, c, d.base))
		if err != nil {
			return nil, err
		}
		all = append(all, rels...)
	}
	return dedupe(all), nil
}

// procs lists the pids in rel and below, in any of the hierarchies.
func (d v1Driver) procs(rel string) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for _, c := range v1Controllers {
		base := d.ctrlDir(c, rel)
		subs, err := subdirs(base)
		if err != nil {
			return nil, err
		}
		for _, s := range append(subs, ".") {
			pids, err := readProcs(filepath.Join(base, s, "cgroup.procs"))
			if err != nil {
				return nil, err
			}
			for _, p := range pids {
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
			}
		}
	}
	return out, nil
}

// killAll freezes rel (so nothing forks meanwhile), SIGKILLs every process
// in it and thaws it so the signals are delivered.
func (d v1Driver) killAll(rel string) error {
	freezer := d.ctrlDir("freezer", rel)
	state := filepath.Join(freezer, "freezer.state")
	frozen := exists(state)
	if frozen {
		if err := setFreezer(state, "FROZEN", 5*time.Second); err != nil {
			frozen = false // kill anyway; a frozen task still dies once thawed
		}
	}
	pids, err := d.procs(rel)
	if err == nil {
		err = killPids(pids)
	}
	if frozen || exists(state) {
		if terr := os.WriteFile(state, []byte("THAWED"), 0); terr != nil && !errors.Is(terr, os.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("thaw %s: %w", freezer, terr))
		}
	}
	return err
}

// setFreezer writes want to freezer.state and waits until the kernel reports it.
func setFreezer(state, want string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if err := os.WriteFile(state, []byte(want), 0); err != nil {
			return fmt.Errorf("write %s: %w", state, err)
		}
		b, err := os.ReadFile(state)
		if err != nil {
			return fmt.Errorf("read %s: %w", state, err)
		}
		if strings.TrimSpace(string(b)) == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: still %s, want %s", state, strings.TrimSpace(string(b)), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// v1Leaf is one replica's cgroup in every v1 hierarchy.
type v1Leaf struct {
	d   v1Driver
	rel string
	cg  cgroup1.Cgroup
}

func (l *v1Leaf) path() string { return l.d.ctrlDir("cpu", l.rel) }

func (l *v1Leaf) prepare(*exec.Cmd) (func(), error) { return func() {}, nil }

// confine writes pid to cgroup.procs of every hierarchy.
func (l *v1Leaf) confine(pid int) error {
	if err := l.cg.AddProc(uint64(pid)); err != nil {
		return fmt.Errorf("add pid %d to cgroup %s: %w", pid, l.path(), err)
	}
	return nil
}

func (l *v1Leaf) stats() (Stats, error) {
	return readStatsV1(map[string]string{
		"cpu":     l.d.ctrlDir("cpu", l.rel),
		"cpuacct": l.d.ctrlDir("cpuacct", l.rel),
		"memory":  l.d.ctrlDir("memory", l.rel),
		"pids":    l.d.ctrlDir("pids", l.rel),
	})
}

// usageSource names the v1 files Usage keeps open.
func (l *v1Leaf) usageSource() usageSource {
	return usageSource{
		cpu:      filepath.Join(l.d.ctrlDir("cpuacct", l.rel), "cpuacct.usage"),
		throttle: filepath.Join(l.d.ctrlDir("cpu", l.rel), "cpu.stat"),
		memory:   filepath.Join(l.d.ctrlDir("memory", l.rel), "memory.usage_in_bytes"),
	}
}

func (l *v1Leaf) oomKills() (uint64, error) {
	return readOOMControl(l.d.ctrlDir("memory", l.rel))
}

func readOOMControl(memDir string) (uint64, error) {
	f, err := os.Open(filepath.Join(memDir, "memory.oom_control"))
	if err != nil {
		return 0, fmt.Errorf("read oom kills of %s: %w", memDir, err)
	}
	defer f.Close()
	return ParseOOMControl(f)
}

// readStatsV1 reads the counters of one cgroup from its directory in each
// v1 hierarchy (keys cpu, cpuacct, memory, pids).
func readStatsV1(dirs map[string]string) (Stats, error) {
	wrap := func(err error) error { return fmt.Errorf("stats of cgroup %s: %w", dirs["cpu"], err) }
	f, err := os.Open(filepath.Join(dirs["cpu"], "cpu.stat"))
	if err != nil {
		return Stats{}, wrap(err)
	}
	st, err := ParseCPUStatV1(f)
	f.Close()
	if err != nil {
		return Stats{}, wrap(err)
	}
	if f, err = os.Open(filepath.Join(dirs["cpuacct"], "cpuacct.usage")); err != nil {
		return Stats{}, wrap(err)
	}
	st.CPUUsageUsec, err = ParseCPUAcctUsage(f)
	f.Close()
	if err != nil {
		return Stats{}, wrap(err)
	}
	if f, err = os.Open(filepath.Join(dirs["cpuacct"], "cpuacct.stat")); err != nil {
		return Stats{}, wrap(err)
	}
	st.CPUUserUsec, st.CPUSystemUsec, err = ParseCPUAcctStat(f)
	f.Close()
	if err != nil {
		return Stats{}, wrap(err)
	}
	for _, u := range []struct {
		file string
		dst  *uint64
	}{
		{filepath.Join(dirs["memory"], "memory.usage_in_bytes"), &st.MemoryCurrent},
		{filepath.Join(dirs["memory"], "memory.limit_in_bytes"), &st.MemoryMax},
		{filepath.Join(dirs["pids"], "pids.current"), &st.PidsCurrent},
		{filepath.Join(dirs["pids"], "pids.max"), &st.PidsMax},
	} {
		if *u.dst, err = readUintFile(u.file); err != nil {
			return Stats{}, wrap(err)
		}
	}
	if st.OOMKills, err = readOOMControl(dirs["memory"]); err != nil {
		return Stats{}, err
	}
	return st, nil
}
