package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Defaults returns the manifest used when an app has no fnrun.yml: one C3 replica
// that may grow to 10 on CPU at 70 %, 120 s timeout.
func Defaults() *Manifest {
	return &Manifest{
		Instance: DefaultInstance,
		Timeout:  DefaultTimeoutSeconds,
		Autoscale: Autoscale{
			Min:             DefaultMin,
			Max:             DefaultMax,
			Metric:          DefaultMetric,
			Target:          DefaultTarget,
			ScaleUpWindow:   DefaultScaleUpWindow,
			ScaleDownWindow: DefaultScaleDownWindow,
		},
	}
}

// InstanceType returns the catalog entry named by m.Instance, or the default (C3)
// one when the name is unknown (a validated manifest always names a known type).
func (m *Manifest) InstanceType() Instance {
	if i, err := LookupInstance(m.Instance); err == nil {
		return i
	}
	i, _ := LookupInstance(DefaultInstance)
	return i
}

// LoadManifest reads configPath when it is not empty, else the first of
// ManifestNames that exists in dir. With neither it returns Defaults() and path "".
// path is the file that was read, also when it fails to parse.
func LoadManifest(dir, configPath string) (m *Manifest, path string, err error) {
	path = configPath
	if path == "" {
		for _, name := range ManifestNames {
			candidate := filepath.Join(dir, name)
			st, err := os.Stat(candidate)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, "", fmt.Errorf("look for manifest %s: %w", candidate, err)
			}
			if st.IsDir() {
				return nil, "", fmt.Errorf("manifest %s is a directory", candidate)
			}
			path = candidate
			break
		}
		if path == "" {
			return Defaults(), "", nil
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read manifest %s: %w", path, err)
	}
	m, err = ParseManifest(path, data)
	if err != nil {
		return nil, path, err
	}
	return m, path, nil
}

// ParseManifest parses data, applies defaults to what it leaves out and validates
// the result. Errors are *ManifestError whose text starts with the base name of
// filename and a line number. An empty file (or one with only comments) gives Defaults().
// Fields set to null (e.g. "timeout:" with no value) keep their defaults.
func ParseManifest(filename string, data []byte) (m *Manifest, err error) {
	file := filepath.Base(filename)
	if filename == "" {
		file = "manifest"
	}
	defer func() {
		// yaml.v3 has panicked on hostile input before; a manifest is user input.
		if r := recover(); r != nil {
			m, err = nil, &ManifestError{File: file, Line: 1, Msg: fmt.Sprintf("cannot parse YAML: %v", r)}
		}
	}()

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return Defaults(), nil
	} else if err != nil {
		return nil, syntaxError(file, data, err)
	}
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxError(file, data, err)
		}
		if len(extra.Content) > 0 && !isNull(extra.Content[0]) {
			return nil, &ManifestError{File: file, Line: max(extra.Line, 1), Msg: "a second YAML document starts here: a manifest is one document (remove the ---)"}
		}
	}

	m = Defaults()
	d := &decoder{file: file, pos: map[string]int{}}
	root := &doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return m, nil
		}
		root = doc.Content[0]
	}
	if err := d.manifest(root, m); err != nil {
		return nil, err
	}
	if err := m.validate(file, d.pos); err != nil {
		return nil, err
	}
	return m, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// syntaxError turns a yaml.v3 parse error into a one-line *ManifestError with the
// line yaml reports, or the line of the first byte YAML cannot read.
func syntaxError(file string, data []byte, err error) error {
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	line := 0
	if sm := yamlLine.FindStringSubmatch(msg); sm != nil {
		line, _ = strconv.Atoi(sm[1])
		msg = msg[len(sm[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
		line = badByteLine(data)
	}
	return &ManifestError{File: file, Line: max(line, 1), Msg: "invalid YAML: " + msg}
}

// badByteLine returns the line of the first byte that is not valid UTF-8 or is a
// control character YAML refuses, or 1 when there is none.
func badByteLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if (r == utf8.RuneError && size <= 1) || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
			return line
		}
		if isBreak(r) && !(r == '\r' && i+1 < len(data) && data[i+1] == '\n') {
			line++
		}
		i += size
	}
	return 1
}

// isBreak reports whether YAML ends a line at r (a "\r\n" pair counts once).
func isBreak(r rune) bool {
	return r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029
}
