package systemd

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CgroupMount is where systemd mounts the cgroup v2 hierarchy.
const CgroupMount = "/sys/fs/cgroup"

// UnderSystemd reports whether the process was started by systemd as (part of) a unit: systemd
// sets INVOCATION_ID in every unit's environment. getenv is os.Getenv outside tests.
func UnderSystemd(getenv func(string) string) bool {
	return getenv("INVOCATION_ID") != ""
}

// Discover returns the Layout of the subtree systemd delegated to this process, read from
// /proc/self/cgroup, or an error wrapping ErrNotUnified or ErrNotAService when there is none.
func Discover() (Layout, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return Layout{}, fmt.Errorf("read /proc/self/cgroup: %w", err)
	}
	return DelegatedSubtree(string(b), CgroupMount)
}

// Enter moves process pid (with all its threads) into l.Daemon, then enables every controller the
// subtree has for its children and creates l.Apps with the same controllers enabled, so that
// sandboxes under l.Apps get cpu, memory and pids. The subtree's own cgroup is left without
// processes, as cgroup v2 requires of a cgroup that enables controllers for its children.
// Enter is idempotent.
func Enter(l Layout, pid int) error {
	if err := mkdirCgroup(l.Daemon); err != nil {
		return err
	}
	procs := filepath.Join(l.Daemon, "cgroup.procs")
	if err := os.WriteFile(procs, []byte(strconv.Itoa(pid)), 0); err != nil {
		return fmt.Errorf("move pid %d into cgroup %s: %w", pid, l.Daemon, err)
	}
	if err := enableControllers(l.Subtree); err != nil {
		return err
	}
	if err := mkdirCgroup(l.Apps); err != nil {
		return err
	}
	return enableControllers(l.Apps)
}

func mkdirCgroup(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return fmt.Errorf("create cgroup %s: %w", dir, err)
	}
	return nil
}

// enableControllers writes every controller of dir's cgroup.controllers into its
// cgroup.subtree_control.
func enableControllers(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("read controllers of cgroup %s: %w", dir, err)
	}
	ctrls := strings.Fields(string(b))
	if len(ctrls) == 0 {
		return nil
	}
	f := filepath.Join(dir, "cgroup.subtree_control")
	if err := os.WriteFile(f, []byte(SubtreeControl(ctrls)), 0); err != nil {
		return fmt.Errorf("enable controllers %v in cgroup %s: %w", ctrls, dir, err)
	}
	return nil
}

// SubtreeControl returns the cgroup.subtree_control line that enables ctrls, e.g. "+cpu +memory".
func SubtreeControl(ctrls []string) string {
	parts := make([]string, len(ctrls))
	for i, c := range ctrls {
		parts[i] = "+" + c
	}
	return strings.Join(parts, " ")
}
