package sandbox

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwarded are the signals the init passes on to the app.
var forwarded = []os.Signal{
	unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT,
	unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH,
}

// superviseSignals subscribes to the signals supervise handles: SIGCHLD and
// the forwarded ones. It takes a while (one round trip with the runtime's
// signal thread per signal), so the init calls it alongside its other setup.
func superviseSignals() chan os.Signal {
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, append([]os.Signal{unix.SIGCHLD}, forwarded...)...)
	return sigs
}

// supervise runs as PID 1 of the replica's pid namespace: it forks the app,
// forwards signals to it, reaps every child and, once the app has exited,
// reports its status on initStatusFD and exits with it (killing the rest of
// the namespace with it). sigs is from superviseSignals.
func supervise(argv0 string, args, env []string, sigs <-chan os.Signal) error {
	if err := closeOnExecFrom(3); err != nil {
		return err
	}
	pid, err := syscall.ForkExec(argv0, args, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
	})
	if err != nil {
		return fmt.Errorf("exec %s: %w", argv0, err)
	}
	unix.Close(initReadyFD) // the app runs: Start may return
	for sig := range sigs {
		if sig != unix.SIGCHLD {
			_ = unix.Kill(pid, sig.(syscall.Signal))
			continue
		}
		if ws, done := reap(pid); done {
			report(ws)
		}
	}
	return nil
}

// reap collects every exited child; done is true when the app was one.
func reap(app int) (unix.WaitStatus, bool) {
	var appStatus unix.WaitStatus
	appDone := false
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return appStatus, appDone
		}
		if pid == app {
			appStatus, appDone = ws, true
		}
	}
}

// report writes the app's status for the parent and exits with it.
func report(ws unix.WaitStatus) {
	var msg string
	code := ws.ExitStatus()
	if ws.Signaled() {
		msg = fmt.Sprintf("signal %d", int(ws.Signal()))
		code = 128 + int(ws.Signal())
	} else {
		msg = fmt.Sprintf("exit %d", code)
	}
	_, _ = unix.Write(initStatusFD, []byte(msg))
	os.Exit(code)
}

// parseStatus decodes what report wrote; ok is false for anything else.
func parseStatus(msg string) (ExitStatus, bool) {
	kind, num, found := strings.Cut(strings.TrimSpace(msg), " ")
	n, err := strconv.Atoi(num)
	if !found || err != nil {
		return ExitStatus{}, false
	}
	switch kind {
	case "exit":
		return ExitStatus{Code: n}, true
	case "signal":
		return ExitStatus{Code: 128 + n, Signal: unix.SignalName(syscall.Signal(n))}, true
	}
	return ExitStatus{}, false
}
