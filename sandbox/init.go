package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Init file descriptors, as laid out by Start.
const (
	initSpecFD   = 3 // read: the spec as JSON, closed by the parent
	initReadyFD  = 4 // write: closed once the app runs, or carries the error
	initStatusFD = 5 // write: the app's exit ("exit N" or "signal N") in supervisor mode
)

// IsInit reports whether this process was started as a sandbox init; the
// program's main must then call RunInit before anything else.
func IsInit() bool { return len(os.Args) > 1 && os.Args[1] == initArg }

// RunInit does the in-sandbox setup described by the spec it receives and
// runs the app. With a pid namespace it stays PID 1: it forks the app,
// forwards signals to it, reaps orphans and exits with the app's status;
// otherwise it execs the app. It never returns: on error it writes the
// error to stderr and to the parent and exits 127.
func RunInit() {
	goruntime.LockOSThread()
	err := runInit()
	msg := fmt.Sprintf("fnrun init: %v", err)
	fmt.Fprintln(os.Stderr, msg)
	_, _ = unix.Write(initReadyFD, []byte(msg))
	os.Exit(127)
}

func runInit() error {
	specFile := os.NewFile(initSpecFD, "spec")
	var spec specs.Spec
	err := json.NewDecoder(specFile).Decode(&spec)
	specFile.Close()
	if err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	if spec.Process == nil || len(spec.Process.Args) == 0 {
		return errors.New("spec has no process")
	}
	if hasNamespace(&spec, specs.MountNamespace) {
		if err := setupMounts(spec.Mounts); err != nil {
			return err
		}
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fmt.Errorf("set hostname %s: %w", spec.Hostname, err)
		}
	}
	p := spec.Process
	if p.Cwd != "" {
		if err := unix.Chdir(p.Cwd); err != nil {
			return fmt.Errorf("chdir %s: %w", p.Cwd, err)
		}
	}
	argv0, err := lookPath(p.Args[0], envValue(p.Env, "PATH"))
	if err != nil {
		return err
	}
	if p.NoNewPrivileges {
		if err := setNoNewPrivs(); err != nil {
			return err
		}
	}
	if err := dropPrivileges(p.User); err != nil {
		return err
	}
	if hasNamespace(&spec, specs.PIDNamespace) {
		return supervise(argv0, p.Args, p.Env)
	}
	if err := closeOnExecFrom(3); err != nil {
		return err
	}
	if err := unix.Exec(argv0, p.Args, p.Env); err != nil {
		return fmt.Errorf("exec %s: %w", argv0, err)
	}
	return nil
}

// setupMounts makes every mount private to the namespace, then mounts the
// spec's proc and tmpfs mounts.
func setupMounts(mounts []specs.Mount) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	for _, m := range mounts {
		flags, data := mountOptions(m.Options)
		if err := unix.Mount(m.Source, m.Destination, m.Type, flags, data); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.Type, m.Destination, err)
		}
	}
	return nil
}

// mountOptions splits OCI mount options into flags and filesystem data.
func mountOptions(opts []string) (uintptr, string) {
	known := map[string]uintptr{
		"nosuid": unix.MS_NOSUID, "nodev": unix.MS_NODEV, "noexec": unix.MS_NOEXEC,
		"ro": unix.MS_RDONLY, "relatime": unix.MS_RELATIME,
	}
	var flags uintptr
	var data []string
	for _, o := range opts {
		if f, ok := known[o]; ok {
			flags |= f
		} else {
			data = append(data, o)
		}
	}
	return flags, strings.Join(data, ",")
}

// setNoNewPrivs sets no_new_privs on every thread where the Go runtime can
// (no cgo), else on this locked thread, the one that forks or execs the app.
func setNoNewPrivs() error {
	_, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0)
	if errno == 0 {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	return nil
}

// dropPrivileges switches the whole process to user (no supplementary groups).
func dropPrivileges(u specs.User) error {
	if u.UID == 0 && u.GID == 0 {
		return nil
	}
	// The syscall package's versions apply to every thread of the process.
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("drop groups: %w", err)
	}
	if err := syscall.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
		return fmt.Errorf("set gid %d: %w", u.GID, err)
	}
	if err := syscall.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
		return fmt.Errorf("set uid %d: %w", u.UID, err)
	}
	return nil
}

// lookPath resolves name like a shell does with path as PATH.
func lookPath(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		if err := executable(name); err != nil {
			return "", fmt.Errorf("command %s: %w", name, err)
		}
		return name, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %s: not found in PATH %s", name, path)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// closeOnExecFrom marks every open fd >= from close-on-exec.
func closeOnExecFrom(from int) error {
	err := unix.CloseRange(uint(from), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	entries, rerr := os.ReadDir("/proc/self/fd")
	if rerr != nil {
		return fmt.Errorf("close inherited fds: %w", errors.Join(err, rerr))
	}
	for _, e := range entries {
		var fd int
		if _, err := fmt.Sscan(e.Name(), &fd); err == nil && fd >= from {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}
