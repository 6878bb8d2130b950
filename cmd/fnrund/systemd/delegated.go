package systemd

import (
	"errors"
	"fmt"
	"os"

	"github.com/containerd/cgroups/v3"
	"golang.org/x/sys/unix"
)

// delegateXattr is the extended attribute systemd sets to "1" on a cgroup it delegated.
const delegateXattr = "trusted.delegate"

// EnterDelegated finds the cgroup v2 subtree systemd delegated to this process (a service with
// Delegate=yes) and moves the process into its daemon leaf (see Enter). It reports false, and
// changes nothing, when the process is not a systemd unit's, the host is not pure cgroup v2, the
// process's cgroup is not a service's or scope's, or systemd marked that cgroup as not delegated.
func EnterDelegated() (Layout, bool, error) {
	if !UnderSystemd(os.Getenv) || cgroups.Mode() != cgroups.Unified {
		return Layout{}, false, nil
	}
	l, err := Discover()
	if errors.Is(err, ErrNotUnified) || errors.Is(err, ErrNotAService) {
		return Layout{}, false, nil
	}
	if err != nil {
		return Layout{}, false, err
	}
	if !markedDelegated(l.Subtree) {
		return Layout{}, false, nil
	}
	if err := Enter(l, os.Getpid()); err != nil {
		return l, false, fmt.Errorf("enter delegated cgroup %s: %w", l.Subtree, err)
	}
	return l, true, nil
}

// markedDelegated reports whether dir carries systemd's delegation mark. Where systemd or the
// kernel sets no such attribute at all, the unit's cgroup is trusted to be delegated.
func markedDelegated(dir string) bool {
	buf := make([]byte, 16)
	n, err := unix.Getxattr(dir, delegateXattr, buf)
	switch {
	case err == nil:
		return string(buf[:n]) == "1"
	case errors.Is(err, unix.ENODATA):
		return false
	default: // ENOTSUP and the like: no way to tell
		return true
	}
}
