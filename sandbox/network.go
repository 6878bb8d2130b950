package sandbox

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Network modes of Config.Network.
const (
	// NetworkBridge gives each replica its own network namespace with a veth
	// on the host bridge; the router dials IP:8080.
	NetworkBridge = "bridge"
	// NetworkHost shares the host's network; the replica listens on a free
	// 127.0.0.1 port.
	NetworkHost = "host"
)

// Defaults of the bridge network.
const (
	DefaultBridge = "fnrun0"
	DefaultSubnet = "10.89.0.0/16"
	// BridgePort is the port a replica listens on inside its network namespace.
	BridgePort = 8080
	// vethPrefix starts the host-side name of every replica's veth.
	vethPrefix = "fn"
)

// bridgeNet connects replicas' network namespaces to one host bridge.
type bridgeNet struct {
	bridge  string
	subnet  *net.IPNet
	gateway net.IP
	ipam    *ipam
	mu      sync.Mutex // serialises bridge creation; guards brIndex
	brIndex int        // the bridge's interface index once ensureBridge succeeded
}

func newBridgeNet(bridge, subnet, stateDir string) (*bridgeNet, error) {
	if bridge == "" {
		bridge = DefaultBridge
	}
	if subnet == "" {
		subnet = DefaultSubnet
	}
	if len(bridge) > 15 {
		return nil, fmt.Errorf("bridge name %q is longer than 15 characters", bridge)
	}
	_, sn, err := net.ParseCIDR(subnet)
	if err != nil || sn.IP.To4() == nil {
		return nil, fmt.Errorf("subnet %q is not an IPv4 CIDR: %v", subnet, err)
	}
	if stateDir == "" {
		return nil, errors.New("bridge network needs a StateDir for its address allocations")
	}
	gw := make(net.IP, 4)
	copy(gw, sn.IP.To4())
	gw[3]++
	return &bridgeNet{
		bridge: bridge, subnet: sn, gateway: gw,
		ipam: &ipam{subnet: sn, gateway: gw, file: fmt.Sprintf("%s/ipam-%s.json", strings.TrimRight(stateDir, "/"), bridge)},
	}, nil
}

// vethName is the host-side veth name of the replica with address ip,
// unique among live replicas because addresses are.
func vethName(ip net.IP) string {
	return fmt.Sprintf("%s%x", vethPrefix, []byte(ip.To4()))
}

// bridgeIndex returns the bridge's interface index, set up by ensureBridge
// on the first call and, when again, on later ones.
func (b *bridgeNet) bridgeIndex(again bool) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.brIndex != 0 && !again {
		return b.brIndex, nil
	}
	br, err := b.ensureBridge()
	if err != nil {
		return 0, err
	}
	b.brIndex = br.Attrs().Index
	return b.brIndex, nil
}

// ensureBridge creates the bridge with the gateway address when missing and
// brings it up. The caller holds b.mu.
func (b *bridgeNet) ensureBridge() (netlink.Link, error) {
	br, err := netlink.LinkByName(b.bridge)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return nil, fmt.Errorf("find bridge %s: %w", b.bridge, err)
		}
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: b.bridge}}); err != nil && !errors.Is(err, syscall.EEXIST) {
			return nil, fmt.Errorf("create bridge %s: %w", b.bridge, err)
		}
		if br, err = netlink.LinkByName(b.bridge); err != nil {
			return nil, fmt.Errorf("find bridge %s: %w", b.bridge, err)
		}
	}
	ones, _ := b.subnet.Mask.Size()
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: b.gateway, Mask: net.CIDRMask(ones, 32)}}
	if err := netlink.AddrReplace(br, addr); err != nil {
		return nil, fmt.Errorf("address %s on bridge %s: %w", addr, b.bridge, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return nil, fmt.Errorf("bring up bridge %s: %w", b.bridge, err)
	}
	return br, nil
}

// attach creates the replica's veth pair on the bridge with its peer as
// eth0 in the network namespace of pid, and configures eth0 (ip, default
// route via the gateway) and lo there.
// With spareVeth, the host side of a veth pair made by addSpareVeth, that
// pair is used instead.
func (b *bridgeNet) attach(pid int, ip net.IP, spareVeth string) error {
	host := vethName(ip)
	if spareVeth != "" {
		if err := b.adoptVeth(spareVeth, host); err != nil {
			_ = b.detach(ip)
			return fmt.Errorf("adopt veth %s as %s for pid %d: %w", spareVeth, host, pid, err)
		}
	} else if err := b.addVeth(host, pid, ip); err != nil {
		return fmt.Errorf("create veth %s for pid %d: %w", host, pid, err)
	}
	if err := b.configureInside(pid, ip, spareVeth != ""); err != nil {
		_ = b.detach(ip)
		return err
	}
	return nil
}

// spareVethName is the host-side name of a spare init's veth until a
// replica adopts it; it is on no bridge, so veths and cleanup ignore it,
// and the kernel deletes it with the spare's network namespace.
func spareVethName(pid int) string {
	return fmt.Sprintf("%ssp%d", vethPrefix, pid)
}

// addSpareVeth creates the veth pair of a spare init: name on the host,
// down and on no bridge, and eth0 in the network namespace of pid. Creating
// a veth pair is the slowest part of wiring a replica (about 1 ms).
func addSpareVeth(name string, pid int) error {
	err := netlink.LinkAdd(&netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: name},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsPid(pid),
	})
	if err != nil {
		return fmt.Errorf("create veth %s for pid %d: %w", name, pid, err)
	}
	return nil
}

// adoptVeth renames the spare veth spare to host, puts it on the bridge and
// brings it up. A veth named host left by a replica whose namespace is gone
// is replaced.
func (b *bridgeNet) adoptVeth(spare, host string) error {
	l, err := netlink.LinkByName(spare)
	if err != nil {
		return err
	}
	err = netlink.LinkSetName(l, host)
	if errors.Is(err, syscall.EEXIST) {
		if old, lerr := netlink.LinkByName(host); lerr == nil {
			_ = linkDel(old)
		}
		err = netlink.LinkSetName(l, host)
	}
	if err != nil {
		return err
	}
	idx, err := b.bridgeIndex(false)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetMasterByIndex(l, idx); err != nil {
		// The bridge may be gone (deleted by hand): set it up again and retry once.
		if idx, berr := b.bridgeIndex(true); berr != nil || netlink.LinkSetMasterByIndex(l, idx) != nil {
			return err
		}
	}
	return netlink.LinkSetUp(l)
}

// addVeth creates the veth pair host (up, on the bridge) and eth0 in the
// network namespace of pid. A veth of the same name left by a replica whose
// namespace is gone is replaced; a bridge removed since it was set up is
// set up again.
func (b *bridgeNet) addVeth(host string, pid int, ip net.IP) error {
	idx, err := b.bridgeIndex(false)
	if err != nil {
		return err
	}
	veth := func(bridge int) *netlink.Veth {
		return &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: host, MasterIndex: bridge, Flags: net.FlagUp},
			PeerName:      "eth0",
			PeerNamespace: netlink.NsPid(pid),
			// The same address always gets the same MAC (as Docker does), so a neighbour entry the
			// host still holds for a stopped replica's address stays right for its successor.
			PeerHardwareAddr: macForIP(ip),
		}
	}
	err = netlink.LinkAdd(veth(idx))
	if errors.Is(err, syscall.EEXIST) {
		if old, lerr := netlink.LinkByName(host); lerr == nil {
			_ = linkDel(old)
		}
		err = netlink.LinkAdd(veth(idx))
	}
	if err != nil && !errors.Is(err, syscall.EEXIST) && !errors.Is(err, syscall.ESRCH) {
		// The bridge may be gone (deleted by hand): set it up again and retry once.
		if idx, berr := b.bridgeIndex(true); berr == nil {
			err = netlink.LinkAdd(veth(idx))
		}
	}
	return err
}

// configureInside configures eth0 (address, up, default route; with setMAC
// first its MAC, macForIP) and lo in the network namespace of pid.
func (b *bridgeNet) configureInside(pid int, ip net.IP, setMAC bool) error {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("network namespace of pid %d: %w", pid, err)
	}
	defer ns.Close()
	// Only NETLINK_ROUTE: kernels without xfrm/netfilter netlink refuse the other families.
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in namespace of pid %d: %w", pid, err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("bring up lo of pid %d: %w", pid, err)
	}
	eth, err := h.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("find eth0 of pid %d: %w", pid, err)
	}
	if setMAC {
		if err := h.LinkSetHardwareAddr(eth, macForIP(ip)); err != nil {
			return fmt.Errorf("MAC of eth0 of pid %d: %w", pid, err)
		}
	}
	ones, _ := b.subnet.Mask.Size()
	if err := h.AddrAdd(eth, &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(ones, 32)}}); err != nil {
		return fmt.Errorf("address %s on eth0 of pid %d: %w", ip, pid, err)
	}
	if err := h.LinkSetUp(eth); err != nil {
		return fmt.Errorf("bring up eth0 of pid %d: %w", pid, err)
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: b.gateway}); err != nil {
		return fmt.Errorf("default route via %s for pid %d: %w", b.gateway, pid, err)
	}
	return nil
}

// detach deletes the host side of ip's veth if the kernel has not already
// (it does when the namespace dies).
func (b *bridgeNet) detach(ip net.IP) error {
	l, err := netlink.LinkByName(vethName(ip))
	if err != nil {
		return nil
	}
	if err := linkDel(l); err != nil {
		return fmt.Errorf("delete veth %s: %w", vethName(ip), err)
	}
	return nil
}

// linkDel deletes l; a link the kernel removed meanwhile (its namespace
// died) is not an error.
func linkDel(l netlink.Link) error {
	err := netlink.LinkDel(l)
	var nf netlink.LinkNotFoundError
	if err == nil || errors.As(err, &nf) || errors.Is(err, syscall.ENODEV) {
		return nil
	}
	return err
}

// veths lists the host-side replica veths attached to the bridge.
func (b *bridgeNet) veths() ([]string, error) {
	br, err := netlink.LinkByName(b.bridge)
	if err != nil {
		return nil, nil
	}
	links, err := listLinks()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var out []string
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index && strings.HasPrefix(l.Attrs().Name, vethPrefix) {
			out = append(out, l.Attrs().Name)
		}
	}
	return out, nil
}

// dumpRetries bounds how often listLinks dumps again after a link changed
// during the dump (other replicas, or other software, adding or removing links).
const dumpRetries = 10

// listLinks lists the host's links, dumping again when the kernel reports
// the dump was interrupted by a change and so may be inconsistent.
func listLinks() ([]netlink.Link, error) {
	for i := 0; ; i++ {
		links, err := netlink.LinkList()
		if errors.Is(err, netlink.ErrDumpInterrupted) && i < dumpRetries {
			continue
		}
		return links, err
	}
}

// cleanup removes the veths left on the bridge and frees every address;
// called once every replica is gone.
func (b *bridgeNet) cleanup() error {
	names, err := b.veths()
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		if l, err := netlink.LinkByName(n); err == nil {
			if err := linkDel(l); err != nil {
				errs = append(errs, fmt.Errorf("delete veth %s: %w", n, err))
			}
		}
	}
	if err := b.ipam.reset(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// removeBridge deletes the bridge (tests and uninstall).
func (b *bridgeNet) removeBridge() error {
	br, err := netlink.LinkByName(b.bridge)
	if err != nil {
		return nil
	}
	if err := netlink.LinkDel(br); err != nil {
		return fmt.Errorf("delete bridge %s: %w", b.bridge, err)
	}
	return nil
}

// macForIP is the locally administered MAC 02:42:a.b.c.d of IPv4 address a.b.c.d.
func macForIP(ip net.IP) net.HardwareAddr {
	v4 := ip.To4()
	if v4 == nil {
		return nil
	}
	return net.HardwareAddr{0x02, 0x42, v4[0], v4[1], v4[2], v4[3]}
}
