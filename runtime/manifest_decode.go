package runtime

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Field names accepted at each level of a manifest, in the order error messages list them.
var (
	topFields       = []string{"instance", "timeout", "autoscale", "env", "command", "health", "protocol"}
	autoscaleFields = []string{"min", "max", "metric", "target", "scale_up_window", "scale_down_window"}
)

// decoder walks a parsed YAML tree into a Manifest, type-checking each value and
// recording the line of every value it sets so that validate can point at it.
type decoder struct {
	file string
	// pos maps a field path ("autoscale.min", "env.FOO", "command[1]") to its value's line.
	pos map[string]int
}

func (d *decoder) fail(n *yaml.Node, field, format string, args ...any) error {
	return &ManifestError{File: d.file, Line: n.Line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// resolveAlias follows aliases to the node they name. The result carries the alias's
// line, so that an error about an aliased value points where it is used.
func resolveAlias(n *yaml.Node) *yaml.Node {
	if n == nil || n.Kind != yaml.AliasNode {
		return n
	}
	line := n.Line
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil {
		return nil
	}
	c := *n
	c.Line = line
	return &c
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// kindName names a non-scalar node for messages ("a list").
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.DocumentNode:
		return "a document"
	}
	return "empty"
}

// quoteValue quotes a value for an error message, shortened so the message stays one readable line.
func quoteValue(s string) string {
	const maxRunes = 60
	if utf8.RuneCountInString(s) > maxRunes {
		r := []rune(s)
		s = string(r[:maxRunes]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// notA builds "FIELD "VALUE" is not WHAT" or "FIELD is a list, not WHAT".
func (d *decoder) notA(n *yaml.Node, field, what string) error {
	if n.Kind == yaml.ScalarNode {
		return d.fail(n, field, "%s %s is not %s", field, quoteValue(n.Value), what)
	}
	return d.fail(n, field, "%s is %s, not %s", field, kindName(n), what)
}

// keyName renders a mapping key for a message.
func keyName(k *yaml.Node) string {
	if k.Kind != yaml.ScalarNode {
		return "(" + kindName(k) + ")"
	}
	if k.Value != "" && len(k.Value) <= 60 && strings.IndexFunc(k.Value, func(r rune) bool {
		return !(r == '_' || r == '-' || r == '.' || r == '<' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0 {
		return k.Value
	}
	return quoteValue(k.Value)
}

// fields walks the key/value pairs of mapping n, refusing unknown and duplicate keys,
// skipping null values (they mean "use the default") and calling set for the rest.
func (d *decoder) fields(n *yaml.Node, prefix string, allowed []string, set func(name string, v *yaml.Node) error) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolveAlias(n.Content[i]), resolveAlias(n.Content[i+1])
		if k == nil || v == nil {
			return d.fail(n, prefix, "an alias here names no anchor")
		}
		name := keyName(k)
		if k.Kind != yaml.ScalarNode || !slices.Contains(allowed, k.Value) {
			return d.fail(k, prefix+name, "%s%s: unknown field (allowed: %s)", prefix, name, strings.Join(allowed, ", "))
		}
		if first, dup := seen[k.Value]; dup {
			return d.fail(k, prefix+name, "%s%s: duplicate field (first set on line %d)", prefix, name, first)
		}
		seen[k.Value] = k.Line
		if isNull(v) {
			continue
		}
		d.pos[prefix+k.Value] = v.Line
		if err := set(k.Value, v); err != nil {
			return err
		}
	}
	return nil
}

// manifest decodes the document's root node into m, which holds the defaults.
func (d *decoder) manifest(root *yaml.Node, m *Manifest) error {
	root = resolveAlias(root)
	if isNull(root) {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return d.notA(root, "manifest", "a mapping of fields (allowed: "+strings.Join(topFields, ", ")+")")
	}
	return d.fields(root, "", topFields, func(name string, v *yaml.Node) error {
		var err error
		switch name {
		case "instance":
			m.Instance, err = d.str(v, name, "an instance type (C1..C8)")
		case "timeout":
			m.Timeout, err = d.integer(v, name, "a whole number of seconds")
		case "autoscale":
			err = d.autoscale(v, &m.Autoscale)
		case "env":
			m.Env, err = d.env(v)
		case "command":
			m.Command, err = d.command(v)
		case "health":
			m.Health, err = d.str(v, name, `a path starting with "/" (e.g. /healthz)`)
		case "protocol":
			m.Protocol, err = d.str(v, name, "a protocol (allowed: http1, h2c)")
		}
		return err
	})
}

func (d *decoder) autoscale(n *yaml.Node, a *Autoscale) error {
	if n.Kind != yaml.MappingNode {
		return d.notA(n, "autoscale", "a mapping (fields: "+strings.Join(autoscaleFields, ", ")+")")
	}
	return d.fields(n, "autoscale.", autoscaleFields, func(name string, v *yaml.Node) error {
		field := "autoscale." + name
		var err error
		switch name {
		case "min":
			a.Min, err = d.integer(v, field, "a whole number of replicas")
		case "max":
			a.Max, err = d.integer(v, field, "a whole number of replicas")
		case "metric":
			a.Metric, err = d.str(v, field, "a metric (allowed: cpu, memory, rps, concurrency)")
		case "target":
			a.Target, err = d.integer(v, field, "a whole number")
		case "scale_up_window":
			a.ScaleUpWindow, err = d.duration(v, field)
		case "scale_down_window":
			a.ScaleDownWindow, err = d.duration(v, field)
		}
		return err
	})
}

// str accepts any scalar and returns its text as written.
func (d *decoder) str(n *yaml.Node, field, what string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", d.notA(n, field, what)
	}
	return n.Value, nil
}

// integer accepts a YAML integer that fits an int.
func (d *decoder) integer(n *yaml.Node, field, what string) (int, error) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		var i int
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
	}
	return 0, d.notA(n, field, what)
}

func (d *decoder) duration(n *yaml.Node, field string) (Duration, error) {
	var v Duration
	if err := v.UnmarshalYAML(n); err != nil {
		return 0, d.notA(n, field, "a duration (e.g. 30s, 1m or a number of seconds)")
	}
	return v, nil
}

// env accepts a mapping of names to scalars (strings, numbers, booleans), kept as written.
func (d *decoder) env(n *yaml.Node) (map[string]string, error) {
	const what = "a map of NAME: value"
	if n.Kind != yaml.MappingNode {
		return nil, d.notA(n, "env", what)
	}
	out := make(map[string]string, len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolveAlias(n.Content[i]), resolveAlias(n.Content[i+1])
		if k == nil || v == nil {
			return nil, d.fail(n, "env", "env: an alias here names no anchor")
		}
		if k.Kind != yaml.ScalarNode || isNull(k) {
			return nil, d.fail(k, "env", "env has a key that is %s; keys must be variable names", keyOrNull(k))
		}
		field := "env." + k.Value
		if first, dup := seen[k.Value]; dup {
			return nil, d.fail(k, field, "env.%s: duplicate variable (first set on line %d)", keyName(k), first)
		}
		seen[k.Value] = k.Line
		if isNull(v) {
			// Point at the key: an empty value has no text of its own, and yaml.v3 may place it
			// past the end of the input (an explicit "? KEY" without ":").
			return nil, d.fail(k, field, `env.%s has no value (write %s: "" for an empty string)`, keyName(k), keyName(k))
		}
		if v.Kind != yaml.ScalarNode {
			return nil, d.fail(v, field, "env.%s is %s, not a string, number or boolean", keyName(k), kindName(v))
		}
		d.pos[field] = v.Line
		out[k.Value] = v.Value
	}
	return out, nil
}

func keyOrNull(k *yaml.Node) string {
	if k.Kind == yaml.ScalarNode {
		return "empty"
	}
	return kindName(k)
}

// command accepts a shell string (run with /bin/sh -c) or a list of argv strings.
func (d *decoder) command(n *yaml.Node) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if strings.TrimSpace(n.Value) == "" {
			return nil, d.fail(n, "command", "command is empty: give a shell command or a list like [python3, -m, http.server]")
		}
		return []string{"/bin/sh", "-c", n.Value}, nil
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return nil, d.fail(n, "command", "command is an empty list: the first item is the program to run")
		}
		out := make([]string, 0, len(n.Content))
		for i, item := range n.Content {
			field := fmt.Sprintf("command[%d]", i)
			item = resolveAlias(item)
			if item == nil {
				return nil, d.fail(n, field, "%s: an alias here names no anchor", field)
			}
			if isNull(item) {
				return nil, d.fail(item, field, `%s is empty (write "" for an empty argument)`, field)
			}
			if item.Kind != yaml.ScalarNode {
				return nil, d.fail(item, field, "%s is %s, not a string", field, kindName(item))
			}
			d.pos[field] = item.Line
			out = append(out, item.Value)
		}
		return out, nil
	}
	return nil, d.fail(n, "command", "command is %s, not a string or a list of strings", kindName(n))
}
