package main

import (
	"fmt"
	"os/exec"
	"os/user"
	"strconv"
)

// apiGroup is the group whose members may use the API socket.
const apiGroup = "fnrun"

// lookupGroup returns the gid of group name.
func lookupGroup(name string) (int, bool) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, false
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, false
	}
	return gid, true
}

// ensureGroup returns the gid of group name, creating it as a system group when missing.
func ensureGroup(name string) (int, error) {
	if gid, ok := lookupGroup(name); ok {
		return gid, nil
	}
	if out, err := exec.Command("groupadd", "--system", name).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("create group %s: %w: %s", name, err, out)
	}
	gid, ok := lookupGroup(name)
	if !ok {
		return 0, fmt.Errorf("group %s missing after groupadd", name)
	}
	return gid, nil
}
