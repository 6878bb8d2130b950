package runtime

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// withDefaults returns Defaults() changed by edit.
func withDefaults(edit func(m *Manifest)) *Manifest {
	m := Defaults()
	if edit != nil {
		edit(m)
	}
	return m
}

func TestDefaults(t *testing.T) {
	want := &Manifest{
		Instance: "C3",
		Timeout:  120,
		Autoscale: Autoscale{
			Min: 1, Max: 10, Metric: "cpu", Target: 70,
			ScaleUpWindow:   Duration(time.Second),
			ScaleDownWindow: Duration(30 * time.Second),
		},
	}
	if got := Defaults(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Defaults() = %+v, want %+v", got, want)
	}
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("Defaults() does not validate: %v", err)
	}
}

func TestParseManifestGood(t *testing.T) {
	want := map[string]*Manifest{
		"empty.yml":         Defaults(),
		"comments-only.yml": Defaults(),
		"null-fields.yml":   Defaults(),
		"full.yml": {
			Instance: "C4",
			Timeout:  30,
			Autoscale: Autoscale{
				Min: 2, Max: 8, Metric: "cpu", Target: 60,
				ScaleUpWindow:   Duration(5 * time.Second),
				ScaleDownWindow: Duration(time.Minute),
			},
			Env:      map[string]string{"LOG_LEVEL": "debug", "WORKERS": "4", "DEBUG": "false", "RATIO": "0.5"},
			Command:  []string{"python3", "-m", "http.server", "$PORT"},
			Health:   "/healthz",
			Protocol: "h2c",
		},
		"jcloud-instance-only.yml": withDefaults(func(m *Manifest) { m.Instance = "C1" }),
		"scale-to-zero-rps.yml": withDefaults(func(m *Manifest) {
			m.Instance = "C2"
			m.Autoscale.Min, m.Autoscale.Max, m.Autoscale.Metric, m.Autoscale.Target = 0, 20, "rps", 500
		}),
		"concurrency.yml": withDefaults(func(m *Manifest) {
			m.Autoscale.Min, m.Autoscale.Metric, m.Autoscale.Target = 0, "concurrency", 4
			m.Autoscale.ScaleDownWindow = Duration(2 * time.Minute)
		}),
		"command-shell-string.yml": withDefaults(func(m *Manifest) {
			m.Command = []string{"/bin/sh", "-c", "exec ./server --listen 0.0.0.0:$PORT"}
			m.Health = "/"
		}),
		"memory-metric.yml": withDefaults(func(m *Manifest) {
			m.Instance, m.Timeout = "C8", 86400
			m.Autoscale.Metric, m.Autoscale.Target, m.Autoscale.Min, m.Autoscale.Max = "memory", 100, 3, 3
		}),
		"anchors.yml": withDefaults(func(m *Manifest) {
			m.Instance = "C5"
			m.Env = map[string]string{"SIZE": "C5", "QUOTED": "x: y"}
			m.Command = []string{"/usr/bin/env", "", "8080"}
		}),
	}
	files, err := filepath.Glob("testdata/manifests/good/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Errorf("%d good manifests on disk, %d expectations: keep them in step", len(files), len(want))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseManifest(f, data)
			if err != nil {
				t.Fatalf("ParseManifest: %v", err)
			}
			if !reflect.DeepEqual(got, w) {
				t.Fatalf("got  %+v\nwant %+v", got, w)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("parsed manifest does not re-validate: %v", err)
			}
		})
	}
}

// wantLine reads the "# want: ..." comment that opens every bad manifest.
func wantLine(t *testing.T, data []byte) string {
	t.Helper()
	first, _, _ := bufio.NewReader(bytes.NewReader(data)).ReadLine()
	want, ok := strings.CutPrefix(string(first), "# want: ")
	if !ok {
		t.Fatalf("first line %q is not a '# want: <error>' comment", first)
	}
	return want
}

var errPrefix = regexp.MustCompile(`^([^:]+):([1-9][0-9]*): `)

func TestParseManifestBad(t *testing.T) {
	files, err := filepath.Glob("testdata/manifests/bad/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("only %d malformed manifests; want at least 30", len(files))
	}
	seen := map[string]string{}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want := wantLine(t, data)
			m, err := ParseManifest(f, data)
			if err == nil {
				t.Fatalf("accepted: %+v", m)
			}
			if err.Error() != want {
				t.Fatalf("error\n got: %s\nwant: %s", err, want)
			}
			var me *ManifestError
			if !errors.As(err, &me) || !errors.Is(err, ErrInvalidManifest) {
				t.Fatalf("error %T is not a *ManifestError matching ErrInvalidManifest", err)
			}
			sm := errPrefix.FindStringSubmatch(err.Error())
			if sm == nil || sm[1] != name || me.File != name || me.Line < 1 {
				t.Fatalf("error %q does not start with %s:LINE", err, name)
			}
			if lines := bytes.Count(data, []byte("\n")) + 1; me.Line > lines {
				t.Fatalf("line %d is past the end of the %d-line file", me.Line, lines)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans several lines: %q", err)
			}
			msg := strings.TrimPrefix(err.Error(), sm[0])
			if other, dup := seen[msg]; dup {
				t.Fatalf("same message as %s: make the cases distinct", other)
			}
			seen[msg] = name
		})
	}
}

func TestParseManifestInline(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		yaml    string
		want    *Manifest
		wantErr string
	}{
		{name: "file name is the base name", file: "/srv/apps/shop/jcloud.yml", yaml: "instance: C9\n",
			wantErr: `jcloud.yml:1: instance "C9" is not an instance type (C1..C8)`},
		{name: "no file name", file: "", yaml: "timeout: x\n",
			wantErr: `manifest:1: timeout "x" is not a whole number of seconds`},
		{name: "integer window is seconds", file: "f.yml", yaml: "autoscale: {scale_up_window: 3, scale_down_window: \"45\"}\n",
			want: withDefaults(func(m *Manifest) {
				m.Autoscale.ScaleUpWindow, m.Autoscale.ScaleDownWindow = Duration(3*time.Second), Duration(45*time.Second)
			})},
		{name: "hex and underscore ints", file: "f.yml", yaml: "timeout: 0x3c\nautoscale: {max: 1_000}\n",
			want: withDefaults(func(m *Manifest) { m.Timeout, m.Autoscale.Max = 60, 1000 })},
		{name: "flow style", file: "f.yml", yaml: "{instance: C6, env: {A: '1'}}",
			want: withDefaults(func(m *Manifest) { m.Instance, m.Env = "C6", map[string]string{"A": "1"} })},
		{name: "empty trailing document is fine", file: "f.yml", yaml: "instance: C2\n---\n",
			want: withDefaults(func(m *Manifest) { m.Instance = "C2" })},
		{name: "overflowing int", file: "f.yml", yaml: "\ntimeout: 99999999999999999999999\n",
			wantErr: `f.yml:2: timeout "99999999999999999999999" is not a whole number of seconds`},
		{name: "overflowing window", file: "f.yml", yaml: "autoscale:\n  scale_up_window: 9999999999999999\n",
			wantErr: `f.yml:2: autoscale.scale_up_window "9999999999999999" is not a duration (e.g. 30s, 1m or a number of seconds)`},
		{name: "anchor holder is unknown", file: "f.yml", yaml: "base: &b {timeout: 3}\n",
			wantErr: `f.yml:1: base: unknown field (allowed: instance, timeout, autoscale, env, command, health, protocol)`},
		{name: "merge key is unknown", file: "f.yml", yaml: "autoscale: &a {min: 2}\nenv:\n  <<: *a\n",
			wantErr: `f.yml:3: env.<< is a mapping, not a string, number or boolean`},
		{name: "alias error points at its use", file: "f.yml", yaml: "instance: &i C9\nenv:\n  SIZE: *i\nhealth: *i\n",
			wantErr: `f.yml:1: instance "C9" is not an instance type (C1..C8)`},
		{name: "unknown key inside an aliased mapping points at the key", file: "f.yml", yaml: "env: &e\n  A: b\nautoscale: *e\n",
			wantErr: `f.yml:2: autoscale.A: unknown field (allowed: min, max, metric, target, scale_up_window, scale_down_window)`},
		{name: "aliased health", file: "f.yml", yaml: "env:\n  H: &h nope\nhealth: *h\n",
			wantErr: `f.yml:3: health "nope" must be a path starting with "/" (e.g. /healthz)`},
		{name: "top-level merge key", file: "f.yml", yaml: "timeout: 5\n<<: {instance: C2}\n",
			wantErr: `f.yml:2: <<: unknown field (allowed: instance, timeout, autoscale, env, command, health, protocol)`},
		{name: "list as key", file: "f.yml", yaml: "? [a, b]\n: 1\n",
			wantErr: `f.yml:1: (a list): unknown field (allowed: instance, timeout, autoscale, env, command, health, protocol)`},
		{name: "strange key is quoted", file: "f.yml", yaml: "\"time out\": 3\n",
			wantErr: `f.yml:1: "time out": unknown field (allowed: instance, timeout, autoscale, env, command, health, protocol)`},
		{name: "long value shortened", file: "f.yml", yaml: "instance: " + strings.Repeat("x", 100) + "\n",
			wantErr: `f.yml:1: instance "` + strings.Repeat("x", 60) + `…" is not an instance type (C1..C8)`},
		{name: "NUL in env value", file: "f.yml", yaml: "env:\n  A: \"a\\0b\"\n",
			wantErr: `f.yml:2: env.A "a\x00b" contains a NUL byte`},
		{name: "env key is null", file: "f.yml", yaml: "env:\n  ~: 1\n",
			wantErr: `f.yml:2: env has a key that is empty; keys must be variable names`},
		{name: "null command item", file: "f.yml", yaml: "command:\n  - sh\n  -\n",
			wantErr: `f.yml:3: command[1] is empty (write "" for an empty argument)`},
		{name: "earliest semantic error wins", file: "f.yml", yaml: "autoscale:\n  max: 0\ninstance: C0\n",
			wantErr: `f.yml:2: autoscale.max 0 must be at least 1`},
		{name: "control character", file: "f.yml", yaml: "instance: C2\nhealth: /a\x01\n",
			wantErr: `f.yml:2: invalid YAML: control characters are not allowed`},
		{name: "duplicate autoscale field", file: "f.yml", yaml: "autoscale:\n  min: 1\n  min: 2\n",
			wantErr: `f.yml:3: autoscale.min: duplicate field (first set on line 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseManifest(tt.file, []byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error\n got: %v\nwant: %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseManifest: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(m *Manifest)
		wantErr string
	}{
		{name: "defaults", edit: nil},
		{name: "unknown instance", edit: func(m *Manifest) { m.Instance = "" }, wantErr: `instance "" is not an instance type (C1..C8)`},
		{name: "zero timeout", edit: func(m *Manifest) { m.Timeout = 0 }, wantErr: `timeout 0 must be at least 1 second`},
		{name: "zero window", edit: func(m *Manifest) { m.Autoscale.ScaleDownWindow = 0 }, wantErr: `autoscale.scale_down_window "0s" must be a positive duration (e.g. 30s)`},
		{name: "empty program", edit: func(m *Manifest) { m.Command = []string{""} }, wantErr: `command[0] is empty: the first item is the program to run`},
		{name: "bad env name", edit: func(m *Manifest) { m.Env = map[string]string{"A=B": "c"} }, wantErr: `env name "A=B" is not a variable name (letters, digits and _, not starting with a digit)`},
		{name: "min 0 rps ok", edit: func(m *Manifest) { m.Autoscale.Min, m.Autoscale.Metric = 0, MetricRPS }},
		{name: "min 0 cpu", edit: func(m *Manifest) { m.Autoscale.Min = 0 }, wantErr: `autoscale.min 0 needs metric rps or concurrency: cpu cannot wake an app at zero`},
		{name: "empty metric", edit: func(m *Manifest) { m.Autoscale.Metric = "" }, wantErr: `autoscale.metric "" is not a metric (allowed: cpu, memory, rps, concurrency)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := withDefaults(tt.edit).Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error\n got: %v\nwant: %s", err, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidManifest) {
				t.Fatalf("%v does not match ErrInvalidManifest", err)
			}
		})
	}
}

func TestManifestJSONRoundTrip(t *testing.T) {
	data, err := os.ReadFile("testdata/manifests/good/full.yml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest("full.yml", data)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(js, []byte(`"scale_down_window":"1m0s"`)) || !bytes.Contains(js, []byte(`"scale_up_window":"5s"`)) {
		t.Fatalf("windows are not stored as duration strings: %s", js)
	}
	var back Manifest
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, m) {
		t.Fatalf("round trip changed the manifest:\n got %+v\nwant %+v", &back, m)
	}
}

func TestInstanceType(t *testing.T) {
	tests := []struct{ instance, want string }{{"C1", "C1"}, {"C8", "C8"}, {"C9", "C3"}, {"", "C3"}}
	for _, tt := range tests {
		m := withDefaults(func(m *Manifest) { m.Instance = tt.instance })
		if got := m.InstanceType().Name; got != tt.want {
			t.Errorf("InstanceType() for %q = %s, want %s", tt.instance, got, tt.want)
		}
	}
	if got := Defaults().InstanceType(); got.MilliCores != 1000 || got.MemoryBytes != 2<<30 {
		t.Errorf("C3 = %+v, want 1 core and 2 GiB", got)
	}
}

func writeAppFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadManifest(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string // relative to the app dir
		config   string            // relative to the app dir; "" = none
		wantPath string            // relative; "" = none
		wantInst string
		wantErr  string // substring
		wantIs   error
	}{
		{name: "no manifest gives defaults", wantInst: "C3"},
		{name: "fnrun.yml", files: map[string]string{"fnrun.yml": "instance: C1\n"}, wantPath: "fnrun.yml", wantInst: "C1"},
		{name: "jcloud.yaml alone", files: map[string]string{"jcloud.yaml": "instance: C2\n"}, wantPath: "jcloud.yaml", wantInst: "C2"},
		{name: "fnrun.yml wins over jcloud.yml", files: map[string]string{"jcloud.yml": "instance: C2\n", "fnrun.yml": "instance: C4\n"}, wantPath: "fnrun.yml", wantInst: "C4"},
		{name: "fnrun.yaml wins over jcloud.yml", files: map[string]string{"jcloud.yml": "instance: C2\n", "fnrun.yaml": "instance: C5\n"}, wantPath: "fnrun.yaml", wantInst: "C5"},
		{name: "config path wins", files: map[string]string{"fnrun.yml": "instance: C4\n", "conf/prod.yml": "instance: C7\n"}, config: "conf/prod.yml", wantPath: "conf/prod.yml", wantInst: "C7"},
		{name: "missing config path", files: map[string]string{"fnrun.yml": "instance: C4\n"}, config: "nope.yml", wantErr: "read manifest", wantIs: fs.ErrNotExist},
		{name: "bad manifest names its file", files: map[string]string{"jcloud.yml": "\ninstance: C9\n"}, wantPath: "jcloud.yml", wantErr: `jcloud.yml:2: instance "C9"`, wantIs: ErrInvalidManifest},
		{name: "manifest is a directory", files: map[string]string{"fnrun.yml/x": ""}, wantErr: "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tt.files {
				writeAppFile(t, filepath.Join(dir, name), data)
			}
			config := ""
			if tt.config != "" {
				config = filepath.Join(dir, tt.config)
			}
			m, path, err := LoadManifest(dir, config)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Fatalf("error %v is not %v", err, tt.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadManifest: %v", err)
			}
			wantPath := ""
			if tt.wantPath != "" {
				wantPath = filepath.Join(dir, tt.wantPath)
			}
			if path != wantPath {
				t.Errorf("path = %q, want %q", path, wantPath)
			}
			if m.Instance != tt.wantInst {
				t.Errorf("instance = %s, want %s", m.Instance, tt.wantInst)
			}
		})
	}
}
