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
	mu      sync.Mutex // serialises bridge creation
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

// ensureBridge creates the bridge with the gateway address when missing and
// brings it up.
func (b *bridgeNet) ensureBridge() (netlink.Link, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
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
func (b *bridgeNet) attach(pid int, ip net.IP) error {
	br, err := b.ensureBridge()
	if err != nil {
		return err
	}
	host := vethName(ip)
	if old, err := netlink.LinkByName(host); err == nil {
		_ = linkDel(old) // left by a replica whose namespace is gone
	}
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: host, MasterIndex: br.Attrs().Index},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsPid(pid),
		// The same address always gets the same MAC (as Docker does), so a neighbour entry the
		// host still holds for a stopped replica's address stays right for its successor.
		PeerHardwareAddr: macForIP(ip),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s for pid %d: %w", host, pid, err)
	}
	if err := b.configureInside(pid, ip); err != nil {
		_ = b.detach(ip)
		return err
	}
	hostLink, err := netlink.LinkByName(host)
	if err == nil {
		err = netlink.LinkSetUp(hostLink)
	}
	if err != nil {
		_ = b.detach(ip)
		return fmt.Errorf("bring up veth %s: %w", host, err)
	}
	return nil
}

func (b *bridgeNet) configureInside(pid int, ip net.IP) error {
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
	links, err := netlink.LinkList()
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
