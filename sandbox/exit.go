package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// ExitStatus is how a replica's process ended.
type ExitStatus struct {
	// Code is the exit code; 128+signal number when killed by a signal.
	Code int
	// Signal is the name of the signal that killed the process ("SIGKILL"), or "".
	Signal string
	// OOMKilled is true when the kernel's OOM killer killed a process of the
	// replica and the replica did not exit cleanly.
	OOMKilled bool
}

// exitStatus turns the result of cmd.Wait into an ExitStatus.
func exitStatus(state *os.ProcessState, waitErr error) ExitStatus {
	if state == nil {
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) {
			state = ee.ProcessState
		}
	}
	if state == nil {
		return ExitStatus{Code: -1}
	}
	ws, ok := state.Sys().(syscall.WaitStatus)
	if !ok {
		return ExitStatus{Code: state.ExitCode()}
	}
	return waitStatus(ws)
}

func waitStatus(ws syscall.WaitStatus) ExitStatus {
	if ws.Signaled() {
		sig := ws.Signal()
		return ExitStatus{Code: 128 + int(sig), Signal: unix.SignalName(sig)}
	}
	return ExitStatus{Code: ws.ExitStatus()}
}
