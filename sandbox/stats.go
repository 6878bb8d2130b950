package sandbox

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Stats is one reading of a replica's cgroup counters.
type Stats struct {
	// CPUUsageUsec is the cumulative CPU time of the replica in microseconds
	// (v1: cpuacct.usage ns / 1000).
	CPUUsageUsec uint64
	// CPUUserUsec is the cumulative user-mode CPU time in microseconds.
	CPUUserUsec uint64
	// CPUSystemUsec is the cumulative kernel-mode CPU time in microseconds.
	CPUSystemUsec uint64
	// NrPeriods is the number of CFS periods in which the replica was runnable.
	NrPeriods uint64
	// NrThrottled is the number of CFS periods in which the replica was throttled.
	NrThrottled uint64
	// ThrottledUsec is the cumulative time the replica was throttled, in
	// microseconds (v1: cpu.stat throttled_time ns / 1000).
	ThrottledUsec uint64
	// MemoryCurrent is the memory charged to the replica, in bytes.
	MemoryCurrent uint64
	// MemoryMax is the memory limit in bytes; math.MaxUint64 when unlimited
	// (v2 "max").
	MemoryMax uint64
	// PidsCurrent is the number of tasks in the replica's cgroup.
	PidsCurrent uint64
	// PidsMax is the task limit; math.MaxUint64 when unlimited ("max").
	PidsMax uint64
	// OOMKills is the number of processes of the replica the OOM killer killed.
	OOMKills uint64
}

// userHZ is the kernel's USER_HZ, the unit of cpuacct.stat.
const userHZ = 100

// ParseFlatKeyed parses a cgroup flat-keyed file ("key value" per line) such
// as cpu.stat, memory.events or memory.oom_control.
func ParseFlatKeyed(r io.Reader) (map[string]uint64, error) {
	out := map[string]uint64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("flat-keyed line %q: want \"key value\"", line)
		}
		v, err := parseValue(fields[1])
		if err != nil {
			return nil, fmt.Errorf("flat-keyed key %s: %w", fields[0], err)
		}
		out[fields[0]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read flat-keyed file: %w", err)
	}
	return out, nil
}

// ParseUint parses a single-value cgroup file such as memory.current,
// pids.max or cpuacct.usage; "max" is math.MaxUint64.
func ParseUint(r io.Reader) (uint64, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return 0, fmt.Errorf("read single-value file: %w", err)
	}
	return parseValue(strings.TrimSpace(string(b)))
}

func parseValue(s string) (uint64, error) {
	if s == "max" {
		return math.MaxUint64, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %q: %w", s, err)
	}
	return v, nil
}

// ParseCPUStatV2 parses a cgroup v2 cpu.stat into the CPU fields of Stats.
func ParseCPUStatV2(r io.Reader) (Stats, error) {
	kv, err := ParseFlatKeyed(r)
	if err != nil {
		return Stats{}, fmt.Errorf("cpu.stat: %w", err)
	}
	return Stats{
		CPUUsageUsec:  kv["usage_usec"],
		CPUUserUsec:   kv["user_usec"],
		CPUSystemUsec: kv["system_usec"],
		NrPeriods:     kv["nr_periods"],
		NrThrottled:   kv["nr_throttled"],
		ThrottledUsec: kv["throttled_usec"],
	}, nil
}

// ParseCPUStatV1 parses a cgroup v1 cpu.stat into the throttling fields of
// Stats (throttled_time is in nanoseconds).
func ParseCPUStatV1(r io.Reader) (Stats, error) {
	kv, err := ParseFlatKeyed(r)
	if err != nil {
		return Stats{}, fmt.Errorf("cpu.stat: %w", err)
	}
	return Stats{
		NrPeriods:     kv["nr_periods"],
		NrThrottled:   kv["nr_throttled"],
		ThrottledUsec: kv["throttled_time"] / 1000,
	}, nil
}

// ParseCPUAcctUsage parses a cgroup v1 cpuacct.usage (nanoseconds) into microseconds.
func ParseCPUAcctUsage(r io.Reader) (uint64, error) {
	ns, err := ParseUint(r)
	if err != nil {
		return 0, fmt.Errorf("cpuacct.usage: %w", err)
	}
	return ns / 1000, nil
}

// ParseCPUAcctStat parses a cgroup v1 cpuacct.stat (USER_HZ ticks) into user
// and system microseconds.
func ParseCPUAcctStat(r io.Reader) (userUsec, systemUsec uint64, err error) {
	kv, err := ParseFlatKeyed(r)
	if err != nil {
		return 0, 0, fmt.Errorf("cpuacct.stat: %w", err)
	}
	const usecPerTick = 1000000 / userHZ
	return kv["user"] * usecPerTick, kv["system"] * usecPerTick, nil
}

// ParseMemoryEvents returns the oom_kill count of a cgroup v2 memory.events.
func ParseMemoryEvents(r io.Reader) (oomKills uint64, err error) {
	kv, err := ParseFlatKeyed(r)
	if err != nil {
		return 0, fmt.Errorf("memory.events: %w", err)
	}
	return kv["oom_kill"], nil
}

// ParseOOMControl returns the oom_kill count of a cgroup v1 memory.oom_control.
func ParseOOMControl(r io.Reader) (oomKills uint64, err error) {
	kv, err := ParseFlatKeyed(r)
	if err != nil {
		return 0, fmt.Errorf("memory.oom_control: %w", err)
	}
	return kv["oom_kill"], nil
}
