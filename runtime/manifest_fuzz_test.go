package runtime

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var fuzzErr = regexp.MustCompile(`^fuzz\.yml:([0-9]+): [^\n]+$`)

// FuzzParseManifest checks that ParseManifest never panics and either returns a
// manifest that re-validates (also after a JSON round trip, and when its JSON form is parsed as YAML) or a
// one-line *ManifestError that starts with the file name and a line number.
func FuzzParseManifest(f *testing.F) {
	for _, dir := range []string{"testdata/manifests/good", "testdata/manifests/bad"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest("fuzz.yml", data)
		if err != nil {
			if m != nil {
				t.Fatalf("both a manifest and an error: %v", err)
			}
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("error %T %q is not a *ManifestError", err, err)
			}
			sm := fuzzErr.FindStringSubmatch(err.Error())
			if sm == nil {
				t.Fatalf("error %q does not start with fuzz.yml:LINE: or spans lines", err)
			}
			line, _ := strconv.Atoi(sm[1])
			if line < 1 || line != me.Line {
				t.Fatalf("error %q has line %d (field Line %d)", err, line, me.Line)
			}
			if n := countLines(data); line > n {
				t.Fatalf("error %q points past the end of a %d-line input", err, n)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted manifest does not re-validate: %v\n%+v", err, m)
		}
		js, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		var fromJSON Manifest
		if err := json.Unmarshal(js, &fromJSON); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", js, err)
		}
		if err := fromJSON.Validate(); err != nil {
			t.Fatalf("manifest does not validate after JSON round trip: %v", err)
		}
		if !sameManifest(&fromJSON, m) {
			t.Fatalf("JSON round trip changed the manifest:\n got %+v\nwant %+v", &fromJSON, m)
		}
		// JSON is YAML, and json.Marshal quotes every string (yaml.v3's encoder
		// loses strings made only of line breaks, so it cannot serve here).
		fromYAML, err := ParseManifest("fuzz.yml", js)
		if err != nil {
			t.Fatalf("re-parsing the manifest as JSON failed: %v\n%s", err, js)
		}
		if !sameManifest(fromYAML, m) {
			t.Fatalf("re-parsing the manifest as JSON changed it:\n got %+v\nwant %+v\n%s", fromYAML, m, js)
		}
	})
}

// countLines counts lines the way YAML does: "\n", "\r", "\r\n" and the Unicode
// line breaks each end one.
func countLines(data []byte) int {
	n := 1
	s := string(data)
	for i, r := range s {
		if isBreak(r) && !(r == '\r' && strings.HasPrefix(s[i+1:], "\n")) {
			n++
		}
	}
	return n
}

// sameManifest compares manifests, treating a nil and an empty env or command alike.
func sameManifest(a, b *Manifest) bool {
	norm := func(m Manifest) Manifest {
		if len(m.Env) == 0 {
			m.Env = nil
		}
		if len(m.Command) == 0 {
			m.Command = nil
		}
		return m
	}
	return reflect.DeepEqual(norm(*a), norm(*b))
}
