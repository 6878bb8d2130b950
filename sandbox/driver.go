package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// driver is one cgroup version's way to create, list and remove the cgroups
// under the Manager's root.
type driver interface {
	mode() Mode
	// root returns the human-readable root.
	root() string
	// group returns the root relative to the cgroup mount ("/fnrun").
	group() string
	// create makes the leaf rel ("<app>/<hostname>") with res applied.
	create(rel string, res *specs.LinuxResources) (leaf, error)
	// relDirs lists the cgroups under the root, relative to it.
	relDirs() ([]string, error)
	// dirs returns the absolute directories of rel (one per hierarchy).
	dirs(rel string) []string
	// killAll SIGKILLs every process in rel.
	killAll(rel string) error
	// procs lists the pids in rel.
	procs(rel string) ([]int, error)
}

// leaf is one replica's cgroup.
type leaf interface {
	// path is the cgroup directory (v1: the cpu hierarchy's).
	path() string
	// prepare makes cmd start inside the cgroup when the kernel can do so
	// (v2 CLONE_INTO_CGROUP); the returned func releases what it opened.
	prepare(cmd *exec.Cmd) (func(), error)
	// confine moves pid into the cgroup when prepare could not (v1).
	confine(pid int) error
	stats() (Stats, error)
	oomKills() (uint64, error)
}

// ErrNotEmpty is returned when a cgroup still holds processes after they were killed.
var ErrNotEmpty = errors.New("cgroup still has processes")

// busyRetry is how long rmdirs retries a cgroup the kernel still calls busy: killed processes
// leave cgroup.procs before their parent has reaped them, and until then the cgroup stays
// populated (seen on v2 when the reaper is slow, e.g. a daemon's orphans adopted by PID 1).
const busyRetry = 5 * time.Second

// rmdirs removes dirs deepest first, ignoring the ones already gone.
func rmdirs(dirs []string) error {
	var errs []error
	for _, d := range dirs {
		deadline := time.Now().Add(busyRetry)
		for {
			err := os.Remove(d)
			if errors.Is(err, syscall.EBUSY) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
			}
			break
		}
	}
	return errors.Join(errs...)
}

// removeIfEmpty removes the cgroup rel when it has no child cgroups and no
// processes; a busy or missing cgroup is left alone.
func removeIfEmpty(d driver, rel string) error {
	for _, dir := range d.dirs(rel) {
		err := os.Remove(dir)
		if err == nil || errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.EBUSY) || errors.Is(err, syscall.ENOTEMPTY) {
			continue
		}
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	return nil
}

// waitEmpty polls until rel holds no process or timeout passes.
func waitEmpty(d driver, rel string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pids, err := d.procs(rel)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s: %w: %v", rel, ErrNotEmpty, pids)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// destroy kills everything in rel, waits for it to empty and removes it.
func destroy(d driver, rel string) error {
	if err := d.killAll(rel); err != nil {
		return err
	}
	if err := waitEmpty(d, rel, 10*time.Second); err != nil {
		return err
	}
	return rmdirs(d.dirs(rel))
}

// readProcs reads the pids of a cgroup.procs file; a missing file is no pids.
func readProcs(file string) ([]int, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", file, err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// subdirs lists the directories below base, relative to it, deepest first.
func subdirs(base string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(base, func(p string, de os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if de.IsDir() && p != base {
			rel, _ := filepath.Rel(base, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list cgroups under %s: %w", base, err)
	}
	sortDeepestFirst(out)
	return out, nil
}

func sortDeepestFirst(rels []string) {
	sort.SliceStable(rels, func(i, j int) bool {
		di, dj := strings.Count(rels[i], "/"), strings.Count(rels[j], "/")
		if di != dj {
			return di > dj
		}
		return rels[i] < rels[j]
	})
}

// dedupe returns rels without repeats, deepest first.
func dedupe(rels []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rels {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	sortDeepestFirst(out)
	return out
}

func killPids(pids []int) error {
	var errs []error
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill pid %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

func readUintFile(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	v, err := ParseUint(f)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}
