package sandbox

import (
	"net"
	"testing"
)

func TestMACForIP(t *testing.T) {
	for ip, want := range map[string]string{"10.89.0.2": "02:42:0a:59:00:02", "10.231.1.255": "02:42:0a:e7:01:ff"} {
		if got := macForIP(net.ParseIP(ip)).String(); got != want {
			t.Errorf("macForIP(%s) = %s, want %s", ip, got, want)
		}
	}
}
