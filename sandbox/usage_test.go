package sandbox

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fnrun/fnrun/runtime"
)

func TestParseUintBytes(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{"123456789\n", 123456789, false},
		{"0", 0, false},
		{"max\n", math.MaxUint64, false},
		{"18446744073709551615", math.MaxUint64, false},
		{"18446744073709551616", 0, true},
		{"", 0, true},
		{"\n", 0, true},
		{"-1", 0, true},
		{"12 34", 0, true},
	} {
		got, err := parseUintBytes([]byte(tc.in))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseUintBytes(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestFlatKeyedValue(t *testing.T) {
	const file = "nr_periods 41\nnr_throttled 37\nthrottled_time 3612345000\nnr_bursts 0\n"
	for _, tc := range []struct {
		in, key string
		want    uint64
		ok      bool
		wantErr bool
	}{
		{file, "throttled_time", 3612345000, true, false},
		{file, "nr_periods", 41, true, false},
		{file, "nr_bursts", 0, true, false},
		{file, "throttled", 0, false, false}, // a prefix of a key is not the key
		{"a 1\nb 2", "b", 2, true, false},    // no final newline
		{"a x\n", "a", 0, false, true},
		{"", "a", 0, false, false},
	} {
		got, ok, err := flatKeyedValue([]byte(tc.in), tc.key)
		if got != tc.want || ok != tc.ok || (err != nil) != tc.wantErr {
			t.Errorf("flatKeyedValue(%q, %s) = %d, %v, %v; want %d, %v, error %v", tc.in, tc.key, got, ok, err, tc.want, tc.ok, tc.wantErr)
		}
	}
}

func TestParseCPUStatV2Usage(t *testing.T) {
	b, err := os.ReadFile("testdata/v2/cpu.stat")
	if err != nil {
		t.Fatal(err)
	}
	usage, thr, err := parseCPUStatV2Usage(b)
	if err != nil || usage != 401234 || thr != 3612345 {
		t.Errorf("testdata cpu.stat = %d, %d, %v; want 401234, 3612345", usage, thr, err)
	}
	// Without the cpu controller cgroup2's cpu.stat has only the usage lines.
	usage, thr, err = parseCPUStatV2Usage([]byte("usage_usec 17\nuser_usec 10\nsystem_usec 7\n"))
	if err != nil || usage != 17 || thr != 0 {
		t.Errorf("controller-less cpu.stat = %d, %d, %v; want 17, 0", usage, thr, err)
	}
	if _, _, err := parseCPUStatV2Usage([]byte("user_usec 10\n")); !errors.Is(err, errMissingKey) {
		t.Errorf("cpu.stat without usage_usec: err = %v, want errMissingKey", err)
	}
}

// fakeUsageLeaf is a leaf whose usage files are fakes in a temp dir.
type fakeUsageLeaf struct {
	leaf
	src usageSource
}

func (l fakeUsageLeaf) path() string             { return filepath.Dir(l.src.cpu) }
func (l fakeUsageLeaf) usageSource() usageSource { return l.src }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// openFDs counts this process's descriptors open on paths below dir.
func openFDs(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(target, dir+"/") {
			n++
		}
	}
	return n
}

func TestUsageReaderFakeFiles(t *testing.T) {
	type step struct {
		files map[string]string // file name → new content before the reading
		want  Usage
	}
	for _, tc := range []struct {
		name  string
		src   func(dir string) usageSource
		files map[string]string
		fds   int
		steps []step
	}{
		{
			name: "v1",
			src: func(dir string) usageSource {
				return usageSource{cpu: filepath.Join(dir, "cpuacct.usage"), throttle: filepath.Join(dir, "cpu.stat"), memory: filepath.Join(dir, "memory.usage_in_bytes")}
			},
			files: map[string]string{
				"cpuacct.usage":         "5000000\n",
				"cpu.stat":              "nr_periods 3\nnr_throttled 1\nthrottled_time 2000000\n",
				"memory.usage_in_bytes": "4096\n",
			},
			fds: 3,
			steps: []step{
				{nil, Usage{CPUUsageUsec: 5000, MemoryCurrent: 4096, ThrottledUsec: 2000}},
				// Re-read through the same descriptors.
				{map[string]string{"cpuacct.usage": "7000000\n", "memory.usage_in_bytes": "8192\n", "cpu.stat": "throttled_time 3000000\n"},
					Usage{CPUUsageUsec: 7000, MemoryCurrent: 8192, ThrottledUsec: 3000}},
				// CPU usage stood still: neither cpu.stat nor memory is read...
				{map[string]string{"cpu.stat": "throttled_time 9000000\n", "memory.usage_in_bytes": "16384\n"},
					Usage{CPUUsageUsec: 7000, MemoryCurrent: 8192, ThrottledUsec: 3000}},
				{nil, Usage{CPUUsageUsec: 7000, MemoryCurrent: 8192, ThrottledUsec: 3000}},
				{nil, Usage{CPUUsageUsec: 7000, MemoryCurrent: 8192, ThrottledUsec: 3000}},
				// ...until the 4th reading, which re-reads memory.
				{nil, Usage{CPUUsageUsec: 7000, MemoryCurrent: 16384, ThrottledUsec: 3000}},
				{map[string]string{"memory.usage_in_bytes": "32768\n"}, Usage{CPUUsageUsec: 7000, MemoryCurrent: 16384, ThrottledUsec: 3000}},
				// CPU moved: everything is read.
				{map[string]string{"cpuacct.usage": "7001000\n"}, Usage{CPUUsageUsec: 7001, MemoryCurrent: 32768, ThrottledUsec: 9000}},
			},
		},
		{
			name: "v2",
			src: func(dir string) usageSource {
				return usageSource{cpu: filepath.Join(dir, "cpu.stat"), memory: filepath.Join(dir, "memory.current")}
			},
			files: map[string]string{
				"cpu.stat":       "usage_usec 401234\nuser_usec 380000\nsystem_usec 21234\nnr_periods 41\nnr_throttled 37\nthrottled_usec 3612345\n",
				"memory.current": "1048576\n",
			},
			fds: 2,
			steps: []step{
				{nil, Usage{CPUUsageUsec: 401234, MemoryCurrent: 1048576, ThrottledUsec: 3612345}},
				{map[string]string{"cpu.stat": "usage_usec 500000\nthrottled_usec 3700000\n", "memory.current": "2097152\n"},
					Usage{CPUUsageUsec: 500000, MemoryCurrent: 2097152, ThrottledUsec: 3700000}},
				// Idle: memory is kept for 3 readings, cpu.stat always read.
				{map[string]string{"cpu.stat": "usage_usec 500000\nthrottled_usec 3800000\n", "memory.current": "4194304\n"},
					Usage{CPUUsageUsec: 500000, MemoryCurrent: 2097152, ThrottledUsec: 3800000}},
				{nil, Usage{CPUUsageUsec: 500000, MemoryCurrent: 2097152, ThrottledUsec: 3800000}},
				{nil, Usage{CPUUsageUsec: 500000, MemoryCurrent: 2097152, ThrottledUsec: 3800000}},
				{nil, Usage{CPUUsageUsec: 500000, MemoryCurrent: 4194304, ThrottledUsec: 3800000}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for f, c := range tc.files {
				writeFile(t, filepath.Join(dir, f), c)
			}
			l := fakeUsageLeaf{src: tc.src(dir)}
			var r usageReader
			t.Cleanup(func() { _ = r.close() })
			for i, st := range tc.steps {
				for f, c := range st.files {
					writeFile(t, filepath.Join(dir, f), c)
				}
				got, err := r.read(l)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if got != st.want {
					t.Errorf("step %d: got %+v, want %+v", i, got, st.want)
				}
				if n := openFDs(t, dir); n != tc.fds {
					t.Errorf("step %d: %d descriptors open on the counter files, want %d kept open", i, n, tc.fds)
				}
			}
			if err := r.close(); err != nil {
				t.Fatal(err)
			}
			if n := openFDs(t, dir); n != 0 {
				t.Errorf("%d descriptors still open after close", n)
			}
			if _, err := r.read(l); !errors.Is(err, ErrUsageClosed) {
				t.Errorf("read after close: err = %v, want ErrUsageClosed", err)
			}
		})
	}
}

func TestUsageReaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"missing memory file", map[string]string{"cpu.stat": "usage_usec 1\n"}, "memory.current"},
		{"garbage memory", map[string]string{"cpu.stat": "usage_usec 1\n", "memory.current": "lots\n"}, "memory.current"},
		{"no usage_usec", map[string]string{"cpu.stat": "user_usec 1\n", "memory.current": "1\n"}, "usage_usec"},
		{"file too long", map[string]string{"cpu.stat": "usage_usec 1\n" + strings.Repeat("x 1\n", usageBufSize), "memory.current": "1\n"}, "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for f, c := range tc.files {
				writeFile(t, filepath.Join(dir, f), c)
			}
			var r usageReader
			t.Cleanup(func() { _ = r.close() })
			_, err := r.read(fakeUsageLeaf{src: usageSource{cpu: filepath.Join(dir, "cpu.stat"), memory: filepath.Join(dir, "memory.current")}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// TestUsageRealCgroup reads a busy C1 replica's usage through the kept-open
// files and checks it moves, agrees with Stats and is closed by Stop.
func TestUsageRealCgroup(t *testing.T) {
	m := newTestManager(t)
	s := start(t, m, replica(t, "C1", "/bin/sh", "-c", "while :; do :; done"))
	first, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if first.MemoryCurrent == 0 {
		t.Errorf("memory = 0 bytes for a running replica")
	}
	// C1 is 0.1 core: a busy loop is throttled within a few 100 ms periods.
	var last Usage
	deadline := time.Now().Add(slow(10 * time.Second))
	for {
		if last, err = s.Usage(); err != nil {
			t.Fatal(err)
		}
		if last.CPUUsageUsec > first.CPUUsageUsec+50000 && last.ThrottledUsec > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage went from %+v to %+v: want CPU +50ms and throttling (same descriptors re-read)", first, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.CPUUsageUsec < last.CPUUsageUsec || st.ThrottledUsec < last.ThrottledUsec {
		t.Errorf("Stats read later (%d µs CPU, %d µs throttled) is behind Usage (%d, %d)", st.CPUUsageUsec, st.ThrottledUsec, last.CPUUsageUsec, last.ThrottledUsec)
	}
	cgroupDirs := m.drv.dirs(s.rel)
	kept := 0
	for _, d := range cgroupDirs {
		kept += openFDs(t, d)
	}
	if want := map[Mode]int{ModeV1: 3, ModeV2: 2}[m.Mode()]; kept != want {
		t.Errorf("%d descriptors open on the replica's cgroups, want %d", kept, want)
	}
	if err := s.Stop(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for _, d := range cgroupDirs {
		if n := openFDs(t, d); n != 0 {
			t.Errorf("%d descriptors still open on %s after Stop", n, d)
		}
	}
	if _, err := s.Usage(); !errors.Is(err, ErrUsageClosed) {
		t.Errorf("Usage after Stop: err = %v, want ErrUsageClosed", err)
	}
}

// TestPreadRereadsCgroup2 checks on the real cgroup2 filesystem of a hybrid
// host that one descriptor of cpu.stat, re-read with pread at offset 0,
// follows the counter (the v1 case is covered by TestUsageRealCgroup).
func TestPreadRereadsCgroup2(t *testing.T) {
	const unified = "/sys/fs/cgroup/unified"
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a cgroup")
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(unified, &fs); err != nil || fs.Type != unix.CGROUP2_SUPER_MAGIC {
		t.Skip("needs a hybrid host with cgroup2 at " + unified)
	}
	dir := filepath.Join(unified, fmt.Sprintf("fnrun-usage-test-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := newCgroupFile(filepath.Join(dir, "cpu.stat"))
	t.Cleanup(func() {
		_ = f.close()
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	read := func() uint64 {
		t.Helper()
		var buf [usageBufSize]byte
		b, err := f.read(buf[:])
		if err != nil {
			t.Fatal(err)
		}
		u, _, err := parseCPUStatV2Usage(b)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	before := read()
	// Burn CPU in a child placed in the cgroup, then let it exit.
	m := newTestManager(t)
	m.drv = noLimitsV2{v2Driver{mountpoint: unified, base: "/" + filepath.Base(dir) + "/m"}}
	s := start(t, m, replica(t, "C1", "/bin/sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"))
	waitDone(t, s, slow(30*time.Second))
	// The replica's cgroup is a child of dir; cgroup2 cpu.stat counts the subtree.
	after := read()
	if after <= before {
		t.Errorf("cpu.stat usage_usec read twice via one descriptor: %d then %d, want it to grow", before, after)
	}
	if err := s.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkUsage and BenchmarkStats compare the per-tick reading with the
// full one on a real idle replica: go test -run '^$' -bench 'Usage|Stats' ./sandbox/
func BenchmarkUsage(b *testing.B) {
	benchReading(b, func(s *Sandbox) error { _, err := s.Usage(); return err })
}
func BenchmarkStats(b *testing.B) {
	benchReading(b, func(s *Sandbox) error { _, err := s.Stats(); return err })
}

func benchReading(b *testing.B, read func(*Sandbox) error) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: creates cgroups")
	}
	m, err := New(Config{
		CgroupRoot: fmt.Sprintf("/fnrun-usagebench-%d", os.Getpid()),
		StateDir:   b.TempDir(),
		InitPath:   os.Args[0],
		Network:    NetworkHost,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := m.RemoveRoot(); err != nil {
			b.Errorf("remove bench cgroup root: %v", err)
		}
	})
	r := Replica{App: "benchapp", Revision: "00001", Hostname: "benchapp-00001-r1", Args: []string{"sleep", "1000"}, Dir: "/"}
	if r.Instance, err = runtime.LookupInstance("C1"); err != nil {
		b.Fatal(err)
	}
	s, err := m.Start(b.Context(), r)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Stop(time.Second) })
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := read(s); err != nil {
			b.Fatal(err)
		}
	}
}
