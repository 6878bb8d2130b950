package sandbox

import (
	"errors"
	"fmt"
	"os/exec"
	"os/user"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultUser is the unprivileged user replicas run as.
const DefaultUser = "fnrun-app"

// resolveUser returns the uid/gid of name, creating it as a system user
// (useradd --system) when it does not exist.
func resolveUser(name string) (specs.User, error) {
	u, err := user.Lookup(name)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		out, uerr := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
			"--shell", "/usr/sbin/nologin", name).CombinedOutput()
		if uerr != nil {
			return specs.User{}, fmt.Errorf("create user %s: %w: %s", name, uerr, out)
		}
		u, err = user.Lookup(name)
	}
	if err != nil {
		return specs.User{}, fmt.Errorf("look up user %s: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return specs.User{}, fmt.Errorf("user %s: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return specs.User{}, fmt.Errorf("user %s: gid %q: %w", name, u.Gid, err)
	}
	return specs.User{UID: uint32(uid), GID: uint32(gid), Username: name}, nil
}
