package systemd

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// Names of the cgroups fnrund creates inside its delegated subtree.
const (
	// DaemonLeaf is the leaf cgroup the daemon process itself moves into, so that the subtree's
	// own cgroup holds no process and may enable controllers for its children.
	DaemonLeaf = "daemon"
	// AppsGroup is the cgroup under which the sandboxes of all apps live.
	AppsGroup = "apps"
)

// ErrNotUnified is returned by DelegatedSubtree when the process sits in cgroup v1 hierarchies
// with controllers (a legacy or hybrid host): systemd cannot delegate a v2 subtree with controllers.
var ErrNotUnified = errors.New("cgroup v1 controllers in use: no delegated cgroup v2 subtree")

// ErrNotAService is returned by DelegatedSubtree when the process's cgroup is not a systemd
// service's (or scope's) own cgroup, so there is no subtree systemd delegated to it.
var ErrNotAService = errors.New("not in the cgroup of a systemd service or scope")

// Layout is where fnrund lives inside the cgroup v2 subtree systemd delegated to it. All fields are
// absolute directories under the cgroup2 mount.
type Layout struct {
	// Subtree is the delegated cgroup, e.g. /sys/fs/cgroup/system.slice/fnrund.service.
	Subtree string
	// Daemon is the leaf the daemon moves into: Subtree/daemon.
	Daemon string
	// Apps is the sandboxes' cgroup root: Subtree/apps.
	Apps string
}

// DelegatedSubtree parses the contents of /proc/self/cgroup and returns the Layout of the
// service's delegated subtree under mount (the cgroup2 mount point, e.g. /sys/fs/cgroup).
// A process already in the daemon leaf (a restart in place) yields the same Layout as one in the
// service's own cgroup.
func DelegatedSubtree(procSelfCgroup, mount string) (Layout, error) {
	unified := ""
	found := false
	for _, line := range strings.Split(procSelfCgroup, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			return Layout{}, fmt.Errorf("parse /proc/self/cgroup line %q: want ID:CONTROLLERS:PATH", line)
		}
		id, ctrls, p := parts[0], parts[1], parts[2]
		if id == "0" && ctrls == "" {
			unified, found = p, true
			continue
		}
		// A named hierarchy without controllers (name=systemd) is harmless; a real v1
		// controller means the host is legacy or hybrid.
		if ctrls != "" && !strings.HasPrefix(ctrls, "name=") {
			return Layout{}, ErrNotUnified
		}
	}
	if !found {
		return Layout{}, fmt.Errorf("parse /proc/self/cgroup: no cgroup v2 (0::) line: %w", ErrNotUnified)
	}
	if !path.IsAbs(unified) {
		return Layout{}, fmt.Errorf("cgroup v2 path %q is not absolute", unified)
	}
	sub := path.Clean(unified)
	if path.Base(sub) == DaemonLeaf {
		sub = path.Dir(sub)
	}
	if !isUnitCgroup(path.Base(sub)) {
		return Layout{}, fmt.Errorf("cgroup %s: %w", sub, ErrNotAService)
	}
	dir := filepath.Join(mount, sub)
	return Layout{Subtree: dir, Daemon: filepath.Join(dir, DaemonLeaf), Apps: filepath.Join(dir, AppsGroup)}, nil
}

// isUnitCgroup reports whether name is the cgroup of a unit systemd can delegate.
func isUnitCgroup(name string) bool {
	return strings.HasSuffix(name, ".service") || strings.HasSuffix(name, ".scope")
}
