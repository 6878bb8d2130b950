package sandbox

import (
	"net"
	"testing"
	"time"
)

// TestDialerBindsToTheBridge: in bridge mode connections are bound to the bridge, so an address
// is not reachable through any other interface (here: loopback); host mode dials plainly.
func TestDialerBindsToTheBridge(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	host := (&Manager{}).Dialer(time.Second)
	c, err := host.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("host mode dial: %v", err)
	}
	c.Close()
	bridged := (&Manager{net: &bridgeNet{bridge: "fnnone0"}}).Dialer(time.Second)
	if c, err := bridged.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("a dialer bound to a missing bridge reached a loopback address")
	}
}
