package sandbox

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrSubnetFull is returned when every address of the subnet is taken.
var ErrSubnetFull = errors.New("no free address in subnet")

// allocations maps an allocated IPv4 address to the hostname holding it.
type allocations map[string]string

// nextFree returns the lowest host address of subnet that is neither the
// network, the gateway, the broadcast address nor in used. Pure.
func nextFree(subnet *net.IPNet, gateway net.IP, used allocations) (net.IP, error) {
	base := subnet.IP.To4()
	ones, bits := subnet.Mask.Size()
	if base == nil || bits != 32 || ones > 30 {
		return nil, fmt.Errorf("subnet %s: want an IPv4 subnet of at least 4 addresses", subnet)
	}
	first := binary.BigEndian.Uint32(base)
	size := uint32(1) << (32 - ones)
	for off := uint32(1); off < size-1; off++ {
		ip := make(net.IP, 4)
		binary.BigEndian.PutUint32(ip, first+off)
		if ip.Equal(gateway) {
			continue
		}
		if _, taken := used[ip.String()]; !taken {
			return ip, nil
		}
	}
	return nil, fmt.Errorf("subnet %s: %w", subnet, ErrSubnetFull)
}

// ipam hands out the subnet's addresses and persists them in a JSON file,
// locked with flock so that two processes never hand out one address twice.
type ipam struct {
	subnet  *net.IPNet
	gateway net.IP
	file    string // e.g. /var/lib/fnrun/ipam-fnrun0.json
}

// update runs fn on the allocations under the file lock and saves the result.
func (a *ipam) update(fn func(allocations) error) error {
	if err := os.MkdirAll(filepath.Dir(a.file), 0o700); err != nil {
		return fmt.Errorf("ipam dir %s: %w", filepath.Dir(a.file), err)
	}
	lock, err := os.OpenFile(a.file+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("ipam lock %s: %w", a.file, err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("ipam lock %s: %w", a.file, err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	allocs, err := a.load()
	if err != nil {
		return err
	}
	if err := fn(allocs); err != nil {
		return err
	}
	return a.save(allocs)
}

func (a *ipam) load() (allocations, error) {
	b, err := os.ReadFile(a.file)
	if errors.Is(err, os.ErrNotExist) {
		return allocations{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ipam %s: %w", a.file, err)
	}
	allocs := allocations{}
	if err := json.Unmarshal(b, &allocs); err != nil {
		return nil, fmt.Errorf("parse ipam %s: %w", a.file, err)
	}
	return allocs, nil
}

func (a *ipam) save(allocs allocations) error {
	b, err := json.MarshalIndent(allocs, "", "  ")
	if err != nil {
		return fmt.Errorf("encode ipam: %w", err)
	}
	tmp := a.file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write ipam %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, a.file); err != nil {
		return fmt.Errorf("write ipam %s: %w", a.file, err)
	}
	return nil
}

// allocate reserves a free address for owner.
func (a *ipam) allocate(owner string) (net.IP, error) {
	var ip net.IP
	err := a.update(func(allocs allocations) error {
		var err error
		if ip, err = nextFree(a.subnet, a.gateway, allocs); err != nil {
			return err
		}
		allocs[ip.String()] = owner
		return nil
	})
	return ip, err
}

// release frees ip.
func (a *ipam) release(ip net.IP) error {
	return a.update(func(allocs allocations) error {
		delete(allocs, ip.String())
		return nil
	})
}

// reset frees every address (all replicas are gone).
func (a *ipam) reset() error {
	return a.update(func(allocs allocations) error {
		for k := range allocs {
			delete(allocs, k)
		}
		return nil
	})
}

// allocated returns the current allocations.
func (a *ipam) allocated() (allocations, error) {
	var out allocations
	err := a.update(func(allocs allocations) error {
		out = allocations{}
		for k, v := range allocs {
			out[k] = v
		}
		return nil
	})
	return out, err
}
