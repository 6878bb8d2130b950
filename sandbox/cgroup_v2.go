package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// v2Driver manages cgroups under mountpoint+base on a unified (v2) hierarchy.
type v2Driver struct {
	mountpoint string // "/sys/fs/cgroup"
	base       string // "/fnrun"
}

func (d v2Driver) mode() Mode    { return ModeV2 }
func (d v2Driver) root() string  { return filepath.Join(d.mountpoint, d.base) }
func (d v2Driver) group() string { return d.base }
func (d v2Driver) dir(rel string) string {
	return filepath.Join(d.mountpoint, d.base, rel)
}
func (d v2Driver) dirs(rel string) []string { return []string{d.dir(rel)} }

// create makes the leaf with cgroup2.NewManager, which enables the cpu,
// memory and pids controllers on every ancestor below the mountpoint and
// writes cpu.max, memory.max and pids.max. memory.swap.max is written only
// where the kernel has swap accounting.
func (d v2Driver) create(rel string, res *specs.LinuxResources) (leaf, error) {
	r := cgroup2.ToResources(res)
	var swap *int64
	if r.Memory != nil {
		swap, r.Memory.Swap = r.Memory.Swap, nil
	}
	group := filepath.Join(d.base, rel)
	if _, err := cgroup2.NewManager(d.mountpoint, group, r); err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", d.dir(rel), err)
	}
	l := &v2Leaf{dir: d.dir(rel)}
	if swap != nil {
		f := filepath.Join(l.dir, "memory.swap.max")
		if _, err := os.Stat(f); err == nil {
			if err := os.WriteFile(f, []byte(fmt.Sprint(*swap)), 0); err != nil {
				_ = os.Remove(l.dir)
				return nil, fmt.Errorf("set %s: %w", f, err)
			}
		}
	}
	return l, nil
}

func (d v2Driver) relDirs() ([]string, error) { return subdirs(d.root()) }

func (d v2Driver) procs(rel string) ([]int, error) {
	var all []int
	base := d.dir(rel)
	subs, err := subdirs(base)
	if err != nil {
		return nil, err
	}
	for _, s := range append(subs, ".") {
		pids, err := readProcs(filepath.Join(base, s, "cgroup.procs"))
		if err != nil {
			return nil, err
		}
		all = append(all, pids...)
	}
	return all, nil
}

// killAll writes cgroup.kill (kernel 5.14+), falling back to freezing the
// cgroup, SIGKILLing its processes and thawing it.
func (d v2Driver) killAll(rel string) error {
	dir := d.dir(rel)
	err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	if err == nil || errors.Is(err, os.ErrNotExist) && !exists(dir) {
		return nil
	}
	freeze := filepath.Join(dir, "cgroup.freeze")
	if ferr := os.WriteFile(freeze, []byte("1"), 0); ferr != nil {
		return fmt.Errorf("kill cgroup %s: %w", dir, errors.Join(err, ferr))
	}
	defer os.WriteFile(freeze, []byte("0"), 0)
	pids, perr := d.procs(rel)
	if perr != nil {
		return perr
	}
	return killPids(pids)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// v2Leaf is one replica's cgroup v2 directory.
type v2Leaf struct{ dir string }

func (l *v2Leaf) path() string { return l.dir }

// prepare opens the leaf and asks clone3 to start cmd in it
// (CLONE_INTO_CGROUP), so the replica never runs outside its cgroup.
func (l *v2Leaf) prepare(cmd *exec.Cmd) (func(), error) {
	fd, err := unix.Open(l.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open cgroup %s: %w", l.dir, err)
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = fd
	return func() { unix.Close(fd) }, nil
}

func (l *v2Leaf) confine(int) error { return nil }

func (l *v2Leaf) stats() (Stats, error) { return readStatsV2(l.dir) }

// usageSource names the v2 files Usage keeps open.
func (l *v2Leaf) usageSource() usageSource {
	return usageSource{cpu: filepath.Join(l.dir, "cpu.stat"), memory: filepath.Join(l.dir, "memory.current")}
}

func (l *v2Leaf) oomKills() (uint64, error) {
	f, err := os.Open(filepath.Join(l.dir, "memory.events"))
	if err != nil {
		return 0, fmt.Errorf("read oom kills of %s: %w", l.dir, err)
	}
	defer f.Close()
	return ParseMemoryEvents(f)
}

// readStatsV2 reads a cgroup v2 directory's counters.
func readStatsV2(dir string) (Stats, error) {
	f, err := os.Open(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return Stats{}, fmt.Errorf("stats of cgroup %s: %w", dir, err)
	}
	st, err := ParseCPUStatV2(f)
	f.Close()
	if err != nil {
		return Stats{}, fmt.Errorf("stats of cgroup %s: %w", dir, err)
	}
	for _, u := range []struct {
		file string
		dst  *uint64
	}{
		{"memory.current", &st.MemoryCurrent},
		{"memory.max", &st.MemoryMax},
		{"pids.current", &st.PidsCurrent},
		{"pids.max", &st.PidsMax},
	} {
		if *u.dst, err = readUintFile(filepath.Join(dir, u.file)); err != nil {
			return Stats{}, fmt.Errorf("stats of cgroup %s: %w", dir, err)
		}
	}
	l := v2Leaf{dir: dir}
	if st.OOMKills, err = l.oomKills(); err != nil {
		return Stats{}, err
	}
	return st, nil
}
