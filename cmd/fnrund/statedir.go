package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// checkStateDir makes the state dir traversable (not listable) by the unprivileged replica
// user, who must reach its revision's code, and refuses a state dir under /tmp: every replica
// gets a private /tmp, which would hide its code.
func checkStateDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("state dir %s: %w", dir, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if abs == "/tmp" || strings.HasPrefix(abs, "/tmp/") {
		return fmt.Errorf("state dir %s is under /tmp, which replicas see as their own private tmpfs: choose another --state-dir (e.g. /var/lib/fnrun)", dir)
	}
	if err := os.Chmod(abs, 0o711); err != nil {
		return fmt.Errorf("chmod state dir %s: %w", abs, err)
	}
	return nil
}
