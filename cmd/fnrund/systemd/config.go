package systemd

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// DefaultConfigPath is fnrund's config file: a YAML mapping of flag names to values.
const DefaultConfigPath = "/etc/fnrun/fnrund.yaml"

// ConfigFlag is the flag that names the config file; the file cannot set it.
const ConfigFlag = "config"

// LoadConfig reads the YAML config file at path and merges it into fs (see MergeConfig). A
// missing file is not an error unless required (the user named it with --config). It returns
// the names of the flags the file set.
func LoadConfig(path string, required bool, flags *pflag.FlagSet) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !required {
			return nil, nil
		}
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	return MergeConfig(data, path, flags)
}

// MergeConfig sets each flag named by the YAML mapping data (e.g. "listen: 127.0.0.1:8080")
// to its value, unless the flag was given on the command line (flags win over the file). source
// names the file in errors, which also give the line. An unknown flag name, a value that is not
// a scalar, or a value the flag refuses is an error and no later key is applied. An empty
// document sets nothing. It returns the names of the flags it set, in file order.
func MergeConfig(data []byte, source string, flags *pflag.FlagSet) ([]string, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config %s: %w", source, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil // only comments
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config %s:%d: want a mapping of flag names to values", source, root.Line)
	}
	// Decide on the command line's flags before setting any: Set marks a flag Changed.
	given := map[string]bool{}
	flags.Visit(func(f *pflag.Flag) { given[f.Name] = true })
	seen := map[string]bool{}
	var set []string
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		name := k.Value
		if k.Kind != yaml.ScalarNode {
			return set, fmt.Errorf("config %s:%d: a key must be a flag name", source, k.Line)
		}
		if seen[name] {
			return set, fmt.Errorf("config %s:%d: %q appears twice", source, k.Line, name)
		}
		seen[name] = true
		f := flags.Lookup(name)
		if f == nil || name == ConfigFlag || name == "help" {
			return set, fmt.Errorf("config %s:%d: %q is not a flag of fnrund", source, k.Line, name)
		}
		if v.Kind != yaml.ScalarNode {
			return set, fmt.Errorf("config %s:%d: %s: want a single value, not a list or mapping", source, v.Line, name)
		}
		if given[name] {
			continue
		}
		val := v.Value
		if v.Tag == "!!null" {
			val = ""
		}
		if err := flags.Set(name, val); err != nil {
			return set, fmt.Errorf("config %s:%d: %s: %q: %w", source, v.Line, name, val, err)
		}
		set = append(set, name)
	}
	return set, nil
}
