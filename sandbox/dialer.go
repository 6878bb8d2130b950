package sandbox

import (
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Dialer returns the dialer to use for replica addresses. In bridge mode it binds every
// connection to the bridge (SO_BINDTODEVICE), so that if the bridge is gone, a replica's address
// is unreachable instead of being sent along the host's default route to some other machine.
func (m *Manager) Dialer(timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout}
	if m.net == nil {
		return d
	}
	dev := m.net.bridge
	d.Control = func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, dev)
		}); err != nil {
			return err
		}
		return serr
	}
	return d
}
