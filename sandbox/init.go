package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	initSpecFD   = 3 // read: the initConfig as JSON, initCgroup, initGo; closed by the parent
	initReadyFD  = 4 // write: closed once the app runs, or carries the error
	initStatusFD = 5 // write: the app's exit ("exit N" or "signal N") in supervisor mode
)

// IsInit reports whether this process was started as a sandbox init; the
// program's main must then call RunInit before anything else.
func IsInit() bool { return len(os.Args) > 1 && os.Args[1] == initArg }

// In an init, main (and so RunInit) runs locked to the main thread, whose tid
// is the pid: the thread that joins the cgroups and forks the app.
func init() {
	if IsInit() {
		goruntime.LockOSThread()
	}
}

// initConfig is what Start sends the init on initSpecFD, as JSON: the part
// of the replica's spec the init acts on, small so that the freshly started
// init decodes it quickly.
type initConfig struct {
	Args       []string `json:"args"`
	Env        []string `json:"env"`
	Cwd        string   `json:"cwd,omitempty"`
	UID        uint32   `json:"uid"`
	GID        uint32   `json:"gid"`
	NoNewPrivs bool     `json:"nnp,omitempty"`
	Hostname   string   `json:"hostname,omitempty"`
	// MountNS: the init has its own mount namespace and makes Mounts there.
	MountNS bool        `json:"mountns,omitempty"`
	Mounts  []initMount `json:"mounts,omitempty"`
	// PIDNS: the init is PID 1 of its own pid namespace and supervises the app.
	PIDNS bool `json:"pidns,omitempty"`
	// CgroupTasks are the leaf's v1 tasks files the init moves itself into
	// once they exist (initCgroup), before it drops its privileges and forks
	// the app; empty when the init was started in its cgroup.
	CgroupTasks []string `json:"cgroupTasks,omitempty"`
}

// initMount is one mount(2) call.
type initMount struct {
	Source string  `json:"src"`
	Target string  `json:"dst"`
	Type   string  `json:"type"`
	Flags  uintptr `json:"flags,omitempty"`
	Data   string  `json:"data,omitempty"`
}

// newInitConfig returns the init's part of spec, which must have a process,
// and the tasks files to join. Pure.
func newInitConfig(spec *specs.Spec, cgroupTasks []string) initConfig {
	p := spec.Process
	cfg := initConfig{
		Args: p.Args, Env: p.Env, Cwd: p.Cwd, UID: p.User.UID, GID: p.User.GID,
		NoNewPrivs: p.NoNewPrivileges, Hostname: spec.Hostname,
		MountNS:     hasNamespace(spec, specs.MountNamespace),
		PIDNS:       hasNamespace(spec, specs.PIDNamespace),
		CgroupTasks: cgroupTasks,
	}
	if cfg.MountNS {
		for _, m := range spec.Mounts {
			flags, data := mountOptions(m.Options)
			cfg.Mounts = append(cfg.Mounts, initMount{Source: m.Source, Target: m.Destination, Type: m.Type, Flags: flags, Data: data})
		}
	}
	return cfg
}

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
	// Subscribing to the supervisor's signals overlaps the rest of the setup;
	// it is done before the app is forked.
	sigsCh := make(chan chan os.Signal, 1)
	go func() { sigsCh <- superviseSignals() }()
	specFile := os.NewFile(initSpecFD, "spec")
	defer specFile.Close()
	var cfg initConfig
	dec := json.NewDecoder(specFile)
	err := dec.Decode(&cfg)
	if err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	// The parent sends one byte when the cgroup exists and one when the
	// network is wired; the setup before runs meanwhile.
	signals := io.MultiReader(dec.Buffered(), specFile)
	if len(cfg.Args) == 0 {
		return errors.New("spec has no process")
	}
	if cfg.MountNS {
		if err := setupMounts(cfg.Mounts); err != nil {
			return err
		}
	}
	if cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			return fmt.Errorf("set hostname %s: %w", cfg.Hostname, err)
		}
	}
	if cfg.Cwd != "" {
		if err := unix.Chdir(cfg.Cwd); err != nil {
			return fmt.Errorf("chdir %s: %w", cfg.Cwd, err)
		}
	}
	argv0, err := lookPath(cfg.Args[0], envValue(cfg.Env, "PATH"))
	if err != nil {
		return err
	}
	if cfg.NoNewPrivs {
		if err := setNoNewPrivs(); err != nil {
			return err
		}
	}
	if err := await(signals, initCgroup); err != nil {
		return err
	}
	// As root, and before the app is forked, which is born in the cgroup.
	if err := joinCgroups(cfg.CgroupTasks); err != nil {
		return err
	}
	if err := dropPrivileges(cfg.UID, cfg.GID); err != nil {
		return err
	}
	if err := await(signals, initGo); err != nil {
		return err
	}
	specFile.Close()
	if cfg.PIDNS {
		return supervise(argv0, cfg.Args, cfg.Env, <-sigsCh)
	}
	if err := closeOnExecFrom(3); err != nil {
		return err
	}
	if err := unix.Exec(argv0, cfg.Args, cfg.Env); err != nil {
		return fmt.Errorf("exec %s: %w", argv0, err)
	}
	return nil
}

// The bytes Start sends on initSpecFD after the config, in this order.
const (
	initCgroup = 'c' // the leaf cgroup exists: the init may join it
	initGo     = 'g' // the network is wired: the init may run the app
)

// await reads the byte want from r; anything else, e.g. EOF because the
// parent gave up or died, is an error.
func await(r io.Reader, want byte) error {
	var b [1]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return fmt.Errorf("wait for %q from the parent: %w", want, err)
	}
	if b[0] != want {
		return fmt.Errorf("wait for %q from the parent: got %q", want, b[0])
	}
	return nil
}

// setupMounts makes every mount private to the namespace, then mounts the
// spec's proc and tmpfs mounts.
func setupMounts(mounts []initMount) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	for _, m := range mounts {
		if err := unix.Mount(m.Source, m.Target, m.Type, m.Flags, m.Data); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.Type, m.Target, err)
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

// dropPrivileges switches the whole process to uid and gid (no supplementary groups).
func dropPrivileges(uid, gid uint32) error {
	if uid == 0 && gid == 0 {
		return nil
	}
	// The syscall package's versions apply to every thread of the process.
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("drop groups: %w", err)
	}
	if err := syscall.Setresgid(int(gid), int(gid), int(gid)); err != nil {
		return fmt.Errorf("set gid %d: %w", gid, err)
	}
	if err := syscall.Setresuid(int(uid), int(uid), int(uid)); err != nil {
		return fmt.Errorf("set uid %d: %w", uid, err)
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
