package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fnrun/fnrun/scheduler"
)

// firstAppGID is the first of the gids given to apps (no group entry is needed: the kernel
// checks numbers). It sits above the ranges distributions hand out to users and groups.
const firstAppGID = 200000

// nextAppGID returns a gid no stored app uses.
func nextAppGID(apps []scheduler.App) uint32 {
	gid := uint32(firstAppGID)
	for _, a := range apps {
		if a.GID >= gid {
			gid = a.GID + 1
		}
	}
	return gid
}

// restrictCode gives the code tree to root and the app's group and takes every right away
// from others: the app's replicas (running with that gid) read it, other apps cannot.
func restrictCode(dir string, gid uint32) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, 0, int(gid)); err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode().Perm() &^ 0o027 // group: read (and exec where the owner may); others: nothing
		if d.IsDir() {
			mode = 0o750
		}
		return os.Chmod(p, mode)
	})
	if err != nil {
		return fmt.Errorf("restrict code %s to gid %d: %w", dir, gid, err)
	}
	return nil
}
