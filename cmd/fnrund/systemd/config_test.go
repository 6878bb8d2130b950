package systemd

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// daemonFlags is a flag set shaped like fnrund's.
func daemonFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("fnrund", pflag.ContinueOnError)
	fs.String("listen", "127.0.0.1:8080", "")
	fs.String("admin-listen", "127.0.0.1:9180", "")
	fs.String("cgroup-root", "", "")
	fs.Duration("tick", 250*time.Millisecond, "")
	fs.Float64("overcommit", 1.0, "")
	fs.String(ConfigFlag, DefaultConfigPath, "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestMergeConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		yaml    string
		want    map[string]string // flag values after the merge
		set     []string
		errPart string
	}{
		{name: "file sets flags", yaml: "listen: 0.0.0.0:80\ntick: 1s\novercommit: 2.5\n",
			want: map[string]string{"listen": "0.0.0.0:80", "tick": "1s", "overcommit": "2.5"}, set: []string{"listen", "tick", "overcommit"}},
		{name: "command line wins", args: []string{"--listen", "127.0.0.1:9"}, yaml: "listen: 0.0.0.0:80\ntick: 2s\n",
			want: map[string]string{"listen": "127.0.0.1:9", "tick": "2s"}, set: []string{"tick"}},
		{name: "empty string disables admin", yaml: "admin-listen: \"\"\n", want: map[string]string{"admin-listen": ""}, set: []string{"admin-listen"}},
		{name: "null is empty", yaml: "cgroup-root:\n", want: map[string]string{"cgroup-root": ""}, set: []string{"cgroup-root"}},
		{name: "only comments", yaml: "# nothing\n#listen: x\n", want: map[string]string{"listen": "127.0.0.1:8080"}},
		{name: "empty file", yaml: "", want: map[string]string{"listen": "127.0.0.1:8080"}},
		{name: "unknown flag", yaml: "listen: a:1\nlisten-addr: x\n", errPart: `fnrund.yaml:2: "listen-addr" is not a flag`},
		{name: "config cannot name itself", yaml: "config: /x\n", errPart: `"config" is not a flag`},
		{name: "bad duration names line", yaml: "\ntick: soon\n", errPart: "fnrund.yaml:2: tick: \"soon\""},
		{name: "list value", yaml: "listen: [a, b]\n", errPart: "want a single value"},
		{name: "not a mapping", yaml: "- listen\n", errPart: "want a mapping"},
		{name: "duplicate key", yaml: "tick: 1s\ntick: 2s\n", errPart: `"tick" appears twice`},
		{name: "bad yaml", yaml: "listen: [\n", errPart: "fnrund.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := daemonFlags(t, tt.args...)
			set, err := MergeConfig([]byte(tt.yaml), "/etc/fnrun/fnrund.yaml", fs)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(set, tt.set) {
				t.Errorf("set = %v, want %v", set, tt.set)
			}
			for name, want := range tt.want {
				if got := fs.Lookup(name).Value.String(); got != want {
					if d, err := time.ParseDuration(want); err == nil && got == d.String() {
						continue
					}
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "absent.yaml")
	if set, err := LoadConfig(missing, false, daemonFlags(t)); err != nil || set != nil {
		t.Fatalf("missing default file: set=%v err=%v, want nothing", set, err)
	}
	if _, err := LoadConfig(missing, true, daemonFlags(t)); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing --config file: err = %v, want one naming %s", err, missing)
	}
	p := filepath.Join(dir, "fnrund.yaml")
	if err := os.WriteFile(p, []byte("listen: 127.0.0.1:7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fs := daemonFlags(t)
	if _, err := LoadConfig(p, true, fs); err != nil {
		t.Fatal(err)
	}
	if got := fs.Lookup("listen").Value.String(); got != "127.0.0.1:7" {
		t.Fatalf("listen = %q", got)
	}
}

// TestExampleConfigParses keeps the shipped example a valid (all-comments) config.
func TestExampleConfigParses(t *testing.T) {
	b, err := os.ReadFile("fnrund.yaml.example")
	if err != nil {
		t.Fatal(err)
	}
	set, err := MergeConfig(b, "fnrund.yaml.example", daemonFlags(t))
	if err != nil || len(set) != 0 {
		t.Fatalf("example: set=%v err=%v, want nothing set", set, err)
	}
	// Uncommented, every line must name a real flag with a valid value.
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "#") && strings.Contains(l, ": ") && !strings.HasPrefix(l, "# ") {
			lines = append(lines, strings.TrimPrefix(l, "#"))
		}
	}
	if len(lines) < 10 {
		t.Fatalf("example has %d commented settings, want every flag", len(lines))
	}
	full := pflag.NewFlagSet("fnrund", pflag.ContinueOnError)
	for _, n := range []string{"socket", "state-dir", "listen", "domain", "admin-listen", "cgroup-root", "network", "bridge", "subnet", "user", "log-level"} {
		full.String(n, "", "")
	}
	full.Duration("tick", 0, "")
	full.Duration("stop-grace", 0, "")
	full.Float64("overcommit", 0, "")
	if _, err := MergeConfig([]byte(strings.Join(lines, "\n")), "example", full); err != nil {
		t.Fatalf("uncommented example: %v", err)
	}
}
