package sandbox

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func open(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestParseCPUStatV2(t *testing.T) {
	got, err := ParseCPUStatV2(open(t, "testdata/v2/cpu.stat"))
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{CPUUsageUsec: 401234, CPUUserUsec: 380000, CPUSystemUsec: 21234, NrPeriods: 41, NrThrottled: 37, ThrottledUsec: 3612345}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParseCPUStatV1(t *testing.T) {
	got, err := ParseCPUStatV1(open(t, "testdata/v1/cpu.stat"))
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{NrPeriods: 41, NrThrottled: 37, ThrottledUsec: 3612345}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParseCPUAcct(t *testing.T) {
	usage, err := ParseCPUAcctUsage(open(t, "testdata/v1/cpuacct.usage"))
	if err != nil || usage != 401234 {
		t.Errorf("usage = %d, %v; want 401234", usage, err)
	}
	user, sys, err := ParseCPUAcctStat(open(t, "testdata/v1/cpuacct.stat"))
	if err != nil || user != 380000 || sys != 20000 {
		t.Errorf("user, system = %d, %d, %v; want 380000, 20000", user, sys, err)
	}
}

func TestParseOOM(t *testing.T) {
	if n, err := ParseMemoryEvents(open(t, "testdata/v2/memory.events")); err != nil || n != 1 {
		t.Errorf("v2 oom_kill = %d, %v; want 1", n, err)
	}
	if n, err := ParseOOMControl(open(t, "testdata/v1/memory.oom_control")); err != nil || n != 1 {
		t.Errorf("v1 oom_kill = %d, %v; want 1", n, err)
	}
}

func TestParseUint(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{"512\n", 512, false},
		{"max\n", math.MaxUint64, false},
		{"9223372036854771712\n", 9223372036854771712, false},
		{"-1\n", 0, true},
		{"", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseUint(strings.NewReader(tc.in))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseUint(%q) = %d, %v; want %d, err %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseFlatKeyedRejectsGarbage(t *testing.T) {
	for _, in := range []string{"usage_usec\n", "a b c\n", "a x\n"} {
		if _, err := ParseFlatKeyed(strings.NewReader(in)); err == nil {
			t.Errorf("ParseFlatKeyed(%q): no error", in)
		}
	}
}

func TestReadStatsV2(t *testing.T) {
	got, err := readStatsV2("testdata/v2")
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{
		CPUUsageUsec: 401234, CPUUserUsec: 380000, CPUSystemUsec: 21234,
		NrPeriods: 41, NrThrottled: 37, ThrottledUsec: 3612345,
		MemoryCurrent: 1249280, MemoryMax: 214745088,
		PidsCurrent: 3, PidsMax: math.MaxUint64, OOMKills: 1,
	}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestReadStatsV1(t *testing.T) {
	d := filepath.Join("testdata", "v1")
	got, err := readStatsV1(map[string]string{"cpu": d, "cpuacct": d, "memory": d, "pids": d})
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{
		CPUUsageUsec: 401234, CPUUserUsec: 380000, CPUSystemUsec: 20000,
		NrPeriods: 41, NrThrottled: 37, ThrottledUsec: 3612345,
		MemoryCurrent: 1249280, MemoryMax: 214745088,
		PidsCurrent: 3, PidsMax: 512, OOMKills: 1,
	}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestReadStatsMissingFile(t *testing.T) {
	if _, err := readStatsV2(t.TempDir()); err == nil {
		t.Error("readStatsV2 of an empty dir: no error")
	}
}
