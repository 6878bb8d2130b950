package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// Usage is the light reading of a replica's cgroup the scheduler takes every
// tick: only what its decision and status need, from files kept open.
type Usage struct {
	// CPUUsageUsec is the cumulative CPU time of the replica in microseconds
	// (v1: cpuacct.usage ns / 1000; v2: cpu.stat usage_usec).
	CPUUsageUsec uint64
	// MemoryCurrent is the memory charged to the replica, in bytes
	// (v1: memory.usage_in_bytes; v2: memory.current). While CPUUsageUsec
	// stands still it is re-read only every 4th reading (usageReader.read).
	MemoryCurrent uint64
	// ThrottledUsec is the cumulative time the replica was throttled by its
	// CPU quota, in microseconds (v1: cpu.stat throttled_time ns / 1000; v2:
	// cpu.stat throttled_usec). On v1 it is re-read only when CPUUsageUsec
	// moved since the previous reading (usageReader.read).
	ThrottledUsec uint64
}

// ErrUsageClosed is returned by Usage once the sandbox was stopped and its
// counter files closed.
var ErrUsageClosed = errors.New("usage counters closed")

// usageBufSize bounds one counter file; cpu.stat is a few hundred bytes.
const usageBufSize = 1024

// usageSource names the files a leaf's Usage is read from.
type usageSource struct {
	// cpu is v1 cpuacct.usage (ns) or v2 cpu.stat (usage_usec and throttled_usec).
	cpu string
	// throttle is v1 cpu.stat (throttled_time, ns); "" on v2, where cpu holds it.
	throttle string
	// memory is v1 memory.usage_in_bytes or v2 memory.current (bytes).
	memory string
}

// usageLeaf is a leaf that can name its usage files (v1Leaf, v2Leaf).
type usageLeaf interface {
	usageSource() usageSource
}

// Usage reads the replica's CPU, memory and throttling counters. The files
// are opened on the first call and kept open until Stop; every later call is
// one pread at offset 0 per file (cgroup files are kernfs seq_files, which
// regenerate their content on a read at offset 0 of an open descriptor).
func (s *Sandbox) Usage() (Usage, error) {
	u, err := s.usage.read(s.leaf)
	if err != nil {
		return Usage{}, fmt.Errorf("usage of %s: %w", s.leaf.path(), err)
	}
	return u, nil
}

// memoryRefreshEvery is how often, in readings, memory is re-read while the
// replica's CPU usage stands still (1 s at the scheduler's default 250 ms tick).
const memoryRefreshEvery = 4

// usageReader keeps one replica's counter files open; its zero value is ready
// and it is safe for concurrent use.
type usageReader struct {
	mu     sync.Mutex
	closed bool
	inited bool
	v1     bool
	cpu    cgroupFile
	thr    cgroupFile // v1 only
	mem    cgroupFile

	// prev is the previous reading, valid when havePrev; memAge counts the
	// readings since memory was last read from its file.
	prev     Usage
	havePrev bool
	memAge   int
}

// read takes one reading of l's counters. The CPU file is read every time;
// while the CPU usage stands still (an idle replica) the others are read less:
//
//   - v1 throttled_time not at all: a replica is only throttled while it has
//     runnable work, which runs once the quota refills, so it cannot grow
//     without the CPU usage growing (v2 has it in cpu.stat anyway);
//   - memory every memoryRefreshEvery-th reading: an idle replica allocates
//     nothing, but the kernel may still reclaim its page cache or charge
//     socket buffers to it.
func (r *usageReader) read(l leaf) (Usage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return Usage{}, ErrUsageClosed
	}
	if !r.inited {
		ul, ok := l.(usageLeaf)
		if !ok {
			return Usage{}, fmt.Errorf("cgroup %s: leaf %T has no usage files", l.path(), l)
		}
		src := ul.usageSource()
		r.v1 = src.throttle != ""
		r.cpu, r.thr, r.mem = newCgroupFile(src.cpu), newCgroupFile(src.throttle), newCgroupFile(src.memory)
		r.inited = true
	}
	var buf [usageBufSize]byte
	u, err := r.readCPU(buf[:])
	if err != nil {
		return Usage{}, err
	}
	idle := r.havePrev && u.CPUUsageUsec == r.prev.CPUUsageUsec
	if r.v1 {
		if idle {
			u.ThrottledUsec = r.prev.ThrottledUsec
		} else if u.ThrottledUsec, err = r.readThrottledV1(buf[:]); err != nil {
			return Usage{}, err
		}
	}
	memAge := 0
	if idle && r.memAge+1 < memoryRefreshEvery {
		u.MemoryCurrent, memAge = r.prev.MemoryCurrent, r.memAge+1
	} else if u.MemoryCurrent, err = readUintFrom(&r.mem, buf[:]); err != nil {
		return Usage{}, err
	}
	r.prev, r.havePrev, r.memAge = u, true, memAge
	return u, nil
}

// readCPU reads the CPU usage (v1: cpuacct.usage) or, on v2, cpu.stat's
// usage and throttling.
func (r *usageReader) readCPU(buf []byte) (Usage, error) {
	if r.v1 {
		ns, err := readUintFrom(&r.cpu, buf)
		return Usage{CPUUsageUsec: ns / 1000}, err
	}
	b, err := r.cpu.read(buf)
	if err != nil {
		return Usage{}, err
	}
	usage, throttled, err := parseCPUStatV2Usage(b)
	if err != nil {
		return Usage{}, fmt.Errorf("%s: %w", r.cpu.path, err)
	}
	return Usage{CPUUsageUsec: usage, ThrottledUsec: throttled}, nil
}

// readThrottledV1 reads throttled_time (ns) of a v1 cpu.stat, in microseconds.
func (r *usageReader) readThrottledV1(buf []byte) (uint64, error) {
	b, err := r.thr.read(buf)
	if err != nil {
		return 0, err
	}
	ns, ok, err := flatKeyedValue(b, "throttled_time")
	if err != nil || !ok {
		return 0, fmt.Errorf("%s: throttled_time: %w", r.thr.path, orMissing(err))
	}
	return ns / 1000, nil
}

// readUintFrom reads a single-value file.
func readUintFrom(f *cgroupFile, buf []byte) (uint64, error) {
	b, err := f.read(buf)
	if err != nil {
		return 0, err
	}
	v, err := parseUintBytes(b)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", f.path, err)
	}
	return v, nil
}

// close closes the files; later reads return ErrUsageClosed.
func (r *usageReader) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return errors.Join(r.cpu.close(), r.thr.close(), r.mem.close())
}

// cgroupFile is one counter file, opened on first read and kept open; its
// zero value is a file never opened.
type cgroupFile struct {
	path string
	fd   int
	open bool
}

func newCgroupFile(path string) cgroupFile { return cgroupFile{path: path} }

// read returns the file's whole content, read with one pread at offset 0.
func (f *cgroupFile) read(buf []byte) ([]byte, error) {
	if !f.open {
		fd, err := unix.Open(f.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", f.path, err)
		}
		f.fd, f.open = fd, true
	}
	for {
		n, err := unix.Pread(f.fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.path, err)
		}
		if n == len(buf) {
			return nil, fmt.Errorf("read %s: longer than %d bytes", f.path, len(buf))
		}
		return buf[:n], nil
	}
}

func (f *cgroupFile) close() error {
	if !f.open {
		return nil
	}
	err := unix.Close(f.fd)
	f.fd, f.open = 0, false
	if err != nil {
		return fmt.Errorf("close %s: %w", f.path, err)
	}
	return nil
}

// parseUintBytes parses a single-value file such as cpuacct.usage or
// memory.current without allocating; "max" is math.MaxUint64.
func parseUintBytes(b []byte) (uint64, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0, errors.New("empty value")
	}
	if string(b) == "max" {
		return 1<<64 - 1, nil
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("parse %q: not an unsigned integer", string(b))
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, fmt.Errorf("parse %q: overflows uint64", string(b))
		}
		v = v*10 + d
	}
	return v, nil
}

// flatKeyedValue returns key's value in a flat-keyed file ("key value" per
// line) without allocating; ok is false when the key is absent.
func flatKeyedValue(b []byte, key string) (v uint64, ok bool, err error) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		k, val, found := bytes.Cut(bytes.TrimSpace(line), []byte{' '})
		if !found || string(k) != key {
			continue
		}
		v, err = parseUintBytes(val)
		if err != nil {
			return 0, false, fmt.Errorf("key %s: %w", key, err)
		}
		return v, true, nil
	}
	return 0, false, nil
}

// parseCPUStatV2Usage returns usage_usec and throttled_usec of a cgroup v2
// cpu.stat. usage_usec is required; throttled_usec is 0 when the cpu
// controller is not enabled (the file then has only the usage lines).
func parseCPUStatV2Usage(b []byte) (usage, throttled uint64, err error) {
	usage, ok, err := flatKeyedValue(b, "usage_usec")
	if err != nil || !ok {
		return 0, 0, fmt.Errorf("usage_usec: %w", orMissing(err))
	}
	throttled, _, err = flatKeyedValue(b, "throttled_usec")
	if err != nil {
		return 0, 0, err
	}
	return usage, throttled, nil
}

// errMissingKey is a required key absent from a flat-keyed file.
var errMissingKey = errors.New("missing")

func orMissing(err error) error {
	if err != nil {
		return err
	}
	return errMissingKey
}
