package sandbox

import (
	"errors"
	"net"
	"path/filepath"
	"testing"
)

func mustCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNextFree(t *testing.T) {
	tests := []struct {
		name    string
		subnet  string
		used    allocations
		want    string
		wantErr error
	}{
		{"first after gateway", "10.89.0.0/16", allocations{}, "10.89.0.2", nil},
		{"skips taken", "10.89.0.0/16", allocations{"10.89.0.2": "a", "10.89.0.3": "b"}, "10.89.0.4", nil},
		{"reuses freed hole", "10.89.0.0/16", allocations{"10.89.0.3": "b"}, "10.89.0.2", nil},
		{"crosses an octet", "10.89.0.0/16", fill("10.89.0.0/16", 2, 255), "10.89.1.0", nil},
		{"full /29", "10.0.0.0/29", fill("10.0.0.0/29", 2, 6), "", ErrSubnetFull},
		{"never the broadcast", "10.0.0.0/30", fill("10.0.0.0/30", 2, 2), "", ErrSubnetFull},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sn := mustCIDR(t, tc.subnet)
			gw := net.IP(append([]byte(nil), sn.IP.To4()...))
			gw[3]++
			got, err := nextFree(sn, gw, tc.used)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && got.String() != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// fill marks host offsets from..to of subnet as used.
func fill(subnet string, from, to int) allocations {
	_, n, _ := net.ParseCIDR(subnet)
	out := allocations{}
	base := n.IP.To4()
	for off := from; off <= to; off++ {
		ip := net.IPv4(base[0], base[1], base[2]+byte(off/256), base[3]+byte(off%256))
		out[ip.String()] = "x"
	}
	return out
}

func TestIPAMPersists(t *testing.T) {
	sn := mustCIDR(t, "10.89.0.0/16")
	file := filepath.Join(t.TempDir(), "state", "ipam-fnrun0.json")
	a := &ipam{subnet: sn, gateway: net.IPv4(10, 89, 0, 1), file: file}
	ip1, err := a.allocate("r1")
	if err != nil {
		t.Fatal(err)
	}
	ip2, err := a.allocate("r2")
	if err != nil {
		t.Fatal(err)
	}
	if ip1.Equal(ip2) {
		t.Fatalf("two live replicas got %s", ip1)
	}
	// A new ipam on the same file (a restarted daemon) sees both.
	b := &ipam{subnet: sn, gateway: net.IPv4(10, 89, 0, 1), file: file}
	got, err := b.allocated()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[ip1.String()] != "r1" || got[ip2.String()] != "r2" {
		t.Errorf("allocations = %v", got)
	}
	if err := b.release(ip1); err != nil {
		t.Fatal(err)
	}
	ip3, err := a.allocate("r3")
	if err != nil {
		t.Fatal(err)
	}
	if !ip3.Equal(ip1) {
		t.Errorf("freed %s not reused, got %s", ip1, ip3)
	}
	if err := a.reset(); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.allocated(); len(got) != 0 {
		t.Errorf("after reset: %v", got)
	}
}

func TestVethName(t *testing.T) {
	if got := vethName(net.IPv4(10, 89, 1, 2)); got != "fn0a590102" || len(got) > 15 {
		t.Errorf("vethName = %q", got)
	}
}
