package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containerd/cgroups/v3"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Mode is the cgroup version the Manager drives.
type Mode string

const (
	// ModeV2 is the unified cgroup v2 hierarchy.
	ModeV2 Mode = "v2"
	// ModeV1 is the legacy per-controller v1 hierarchies (also on hybrid hosts).
	ModeV1 Mode = "v1"
)

// cgroupMount is where the kernel's cgroup filesystems are mounted.
const cgroupMount = "/sys/fs/cgroup"

// Defaults of Config.
const (
	DefaultCgroupRootV2 = "/sys/fs/cgroup/fnrun"
	DefaultCgroupRootV1 = "/fnrun"
	DefaultInitPath     = "/proc/self/exe"
	DefaultStopGrace    = 10 * time.Second
)

// ErrNoCgroups is returned by New on a host without a usable cgroup mount.
var ErrNoCgroups = errors.New("no cgroup filesystem mounted at " + cgroupMount)

// Config configures a Manager.
type Config struct {
	// CgroupRoot is the cgroup the daemon owns. v2: an absolute directory,
	// default "/sys/fs/cgroup/fnrun"; v1: the path under each hierarchy,
	// default "/fnrun" (→ /sys/fs/cgroup/cpu/fnrun/...). Either form is
	// accepted in either mode.
	CgroupRoot string
	// StateDir is the daemon's state directory, e.g. /var/lib/fnrun.
	StateDir string
	// InitPath is the binary re-executed in init mode; default "/proc/self/exe".
	InitPath string
	// StopGrace is the default time between SIGTERM and SIGKILL; default 10s.
	StopGrace time.Duration
	// User is the unprivileged user replicas run as, created with
	// `useradd --system` when missing; default "fnrun-app" (not in the API group "fnrun",
	// so replicas cannot use the daemon socket). "root" keeps uid 0.
	User string
	// Network is NetworkBridge (default: own network namespace, veth on
	// Bridge, Address IP:8080) or NetworkHost (host network, Address
	// 127.0.0.1:<free port>).
	Network string
	// Bridge is the host bridge's name; default "fnrun0".
	Bridge string
	// Subnet is the bridge's IPv4 subnet, gateway .1; default "10.89.0.0/16".
	Subnet string
}

// Manager starts sandboxes under one cgroup root.
type Manager struct {
	cfg  Config
	drv  driver
	user specs.User
	net  *bridgeNet // nil with NetworkHost
	// mu orders creating a leaf against removing its app's (empty) parent.
	mu sync.Mutex
	// spares holds an init started ahead of Start (v1 only; start_spare.go).
	spares spares
}

// New returns a Manager for cfg, detecting the host's cgroup mode once.
func New(cfg Config) (*Manager, error) {
	var m *Manager
	var err error
	switch cgroups.Mode() {
	case cgroups.Unified:
		m, err = newManager(cfg, ModeV2)
	case cgroups.Legacy, cgroups.Hybrid:
		m, err = newManager(cfg, ModeV1)
	default:
		return nil, ErrNoCgroups
	}
	if err != nil {
		return nil, err
	}
	if m.user, err = resolveUser(m.cfg.User); err != nil {
		return nil, err
	}
	return m, nil
}

func newManager(cfg Config, mode Mode) (*Manager, error) {
	if cfg.InitPath == "" {
		cfg.InitPath = DefaultInitPath
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = DefaultStopGrace
	}
	if cfg.User == "" {
		cfg.User = DefaultUser
	}
	if cfg.Network == "" {
		cfg.Network = NetworkBridge
	}
	group, err := cgroupGroup(cfg.CgroupRoot)
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg}
	switch cfg.Network {
	case NetworkBridge:
		if m.net, err = newBridgeNet(cfg.Bridge, cfg.Subnet, cfg.StateDir); err != nil {
			return nil, err
		}
	case NetworkHost:
	default:
		return nil, fmt.Errorf("network %q: want %q or %q", cfg.Network, NetworkBridge, NetworkHost)
	}
	if mode == ModeV2 {
		m.drv = v2Driver{mountpoint: cgroupMount, base: group}
		m.cfg.CgroupRoot = filepath.Join(cgroupMount, group)
	} else {
		m.drv = v1Driver{mount: cgroupMount, base: group}
		m.cfg.CgroupRoot = group
	}
	return m, nil
}

// cgroupGroup turns a CgroupRoot of either form into the path below the
// cgroup mount ("/fnrun").
func cgroupGroup(root string) (string, error) {
	if root == "" {
		root = DefaultCgroupRootV1
	}
	if !filepath.IsAbs(root) {
		return "", fmt.Errorf("cgroup root %q is not absolute", root)
	}
	g := filepath.Clean(root)
	if g == cgroupMount || strings.HasPrefix(g, cgroupMount+"/") {
		g = "/" + strings.TrimPrefix(strings.TrimPrefix(g, cgroupMount), "/")
	}
	if g == "/" {
		return "", fmt.Errorf("cgroup root %q is the whole hierarchy", root)
	}
	return g, nil
}

// Mode returns the cgroup version in use.
func (m *Manager) Mode() Mode { return m.drv.mode() }

// Root returns the human-readable cgroup root, e.g. "/sys/fs/cgroup/fnrun"
// or "/sys/fs/cgroup/{cpu,cpuacct,memory,pids,freezer}/fnrun".
func (m *Manager) Root() string { return m.drv.root() }

// Leftovers returns the cgroup directories under the root (all hierarchies).
func (m *Manager) Leftovers() ([]string, error) {
	rels, err := m.drv.relDirs()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rels {
		for _, d := range m.drv.dirs(r) {
			if exists(d) {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// Cleanup kills every process in every cgroup under the root and removes
// those cgroups (the leftovers of a previous daemon). The root stays.
func (m *Manager) Cleanup() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	rels, err := m.drv.relDirs()
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rels {
		if err := destroy(m.drv, r); err != nil {
			errs = append(errs, err)
		}
	}
	if m.net != nil && len(errs) == 0 {
		errs = append(errs, m.net.cleanup())
	}
	return errors.Join(errs...)
}

// Close stops the spare init the Manager keeps for fast starts; later
// Starts start their init when they need it. Running sandboxes are not
// touched. A Manager that is not closed leaves its spare to exit with the
// process.
func (m *Manager) Close() {
	m.spares.close()
}

// RemoveRoot closes the Manager, runs Cleanup and then removes the root cgroup itself.
func (m *Manager) RemoveRoot() error {
	m.Close()
	if err := m.Cleanup(); err != nil {
		return err
	}
	if err := destroy(m.drv, "."); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
