package systemd

import (
	"fmt"

	"github.com/coreos/go-systemd/v22/daemon"
)

// NotifyReady tells systemd (Type=notify) that the daemon serves. It reports false without error
// when the process was not started with a notification socket.
func NotifyReady() (bool, error) {
	ok, err := daemon.SdNotify(false, daemon.SdNotifyReady)
	if err != nil {
		return false, fmt.Errorf("sd_notify READY=1: %w", err)
	}
	return ok, nil
}

// NotifyStopping tells systemd that the daemon is shutting down (draining replicas).
func NotifyStopping() (bool, error) {
	ok, err := daemon.SdNotify(false, daemon.SdNotifyStopping)
	if err != nil {
		return false, fmt.Errorf("sd_notify STOPPING=1: %w", err)
	}
	return ok, nil
}
