package sandbox

import (
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Moving a process into a v1 cgroup from outside (writing its pid to cgroup.procs) takes the
// kernel's global cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period
// whenever no migration happened recently: measured 9-12 ms on the benchmark host, most of a
// cold start. A thread that moves itself (writes "0" to the hierarchy's tasks file) skips that
// lock (Linux ≥ 5.17), costs tens of microseconds, and every process it forks afterwards is
// born in the cgroup. So on v1 the init moves itself once Start says the leaf exists
// (initCgroup), before it drops its privileges and forks the app, which inherits the cgroups.
// With a cgo-linked init only its main thread moves; its other, idle runtime threads stay
// where the init was started, charged to the daemon. So the Makefile builds fnrund with
// CGO_ENABLED=0 (integration's TestEveryThreadInItsCgroup checks every thread).

// selfJoiner is a driver whose leaves the init joins by itself (v1Driver); the others' leaves
// are joined with leaf.prepare and leaf.confine.
type selfJoiner interface {
	// tasksFiles lists the tasks file of the leaf rel in every hierarchy.
	tasksFiles(rel string) []string
}

func (d v1Driver) tasksFiles(rel string) []string {
	out := make([]string, len(v1Controllers))
	for i, c := range v1Controllers {
		out[i] = filepath.Join(d.ctrlDir(c, rel), "tasks")
	}
	return out
}

// joinCgroups moves the calling process into the cgroups of tasksFiles (v1): every thread
// when the runtime can run a syscall on all of them (no cgo), else only the calling thread,
// which must be the locked main thread (its tid is the pid, so the process is listed in the
// leaf's cgroup.procs) that later forks the app. Runs in the init, as root.
func joinCgroups(tasksFiles []string) error {
	self := []byte("0") // "0" is the writing thread itself
	for _, f := range tasksFiles {
		fd, err := unix.Open(f, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("join cgroup %s: %w", filepath.Dir(f), err)
		}
		_, _, errno := syscall.AllThreadsSyscall6(syscall.SYS_PWRITE64, uintptr(fd),
			uintptr(unsafe.Pointer(&self[0])), uintptr(len(self)), 0, 0, 0)
		if errors.Is(errno, syscall.ENOTSUP) {
			_, err = unix.Pwrite(fd, self, 0)
		} else if errno != 0 {
			err = errno
		}
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("join cgroup %s: %w", filepath.Dir(f), err)
		}
	}
	return nil
}
