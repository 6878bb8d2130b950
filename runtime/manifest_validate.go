package runtime

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// MaxTimeoutSeconds is the longest request timeout a manifest may ask for (one day).
const MaxTimeoutSeconds = 86400

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks the rules ParseManifest enforces on a manifest that did not come
// from YAML (e.g. one the daemon stored as JSON). Errors are *ManifestError without
// file or line.
func (m *Manifest) Validate() error { return m.validate("", nil) }

// validate checks ranges and cross-field rules. pos gives the line of each field
// the file set; the error returned is the one earliest in the file.
func (m *Manifest) validate(file string, pos map[string]int) error {
	var errs []*ManifestError
	at := func(fields ...string) int {
		for _, f := range fields {
			if l := pos[f]; l > 0 {
				return l
			}
		}
		return 0
	}
	bad := func(line int, field, format string, args ...any) {
		errs = append(errs, &ManifestError{File: file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
	}

	if _, err := LookupInstance(m.Instance); err != nil {
		bad(at("instance"), "instance", "instance %s is not an instance type (C1..C8)", quoteValue(m.Instance))
	}
	switch {
	case m.Timeout < 1:
		bad(at("timeout"), "timeout", "timeout %d must be at least 1 second", m.Timeout)
	case m.Timeout > MaxTimeoutSeconds:
		bad(at("timeout"), "timeout", "timeout %d is more than %d seconds (one day)", m.Timeout, MaxTimeoutSeconds)
	}
	m.Autoscale.validate(at, bad)
	m.validateEnv(at, bad)
	for i, arg := range m.Command {
		field := fmt.Sprintf("command[%d]", i)
		switch {
		case i == 0 && arg == "":
			bad(at(field, "command"), field, "%s is empty: the first item is the program to run", field)
		case strings.ContainsRune(arg, 0):
			bad(at(field, "command"), field, "%s %s contains a NUL byte", field, quoteValue(arg))
		}
	}
	if h := m.Health; h != "" {
		switch {
		case !strings.HasPrefix(h, "/"):
			bad(at("health"), "health", `health %s must be a path starting with "/" (e.g. /healthz)`, quoteValue(h))
		case strings.IndexFunc(h, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
			bad(at("health"), "health", "health %s must be a path without spaces or control characters", quoteValue(h))
		}
	}
	switch m.Protocol {
	case "", ProtocolHTTP1, ProtocolH2C:
	default:
		bad(at("protocol"), "protocol", "protocol %s is not a protocol fnrun speaks (allowed: http1, h2c)", quoteValue(m.Protocol))
	}

	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	return errs[0]
}

func (a Autoscale) validate(at func(...string) int, bad func(int, string, string, ...any)) {
	if a.Min < 0 {
		bad(at("autoscale.min"), "autoscale.min", "autoscale.min %d must be at least 0", a.Min)
	}
	if a.Max < 1 {
		bad(at("autoscale.max"), "autoscale.max", "autoscale.max %d must be at least 1", a.Max)
	}
	if a.Min >= 0 && a.Max >= 1 && a.Min > a.Max {
		bad(at("autoscale.min", "autoscale.max"), "autoscale.min", "autoscale.min %d is greater than autoscale.max %d", a.Min, a.Max)
	}
	targetLine := at("autoscale.target", "autoscale.metric")
	switch a.Metric {
	case MetricCPU, MetricMemory:
		if a.Target < 1 || a.Target > 100 {
			bad(targetLine, "autoscale.target", "autoscale.target %d is outside 1..100 (percent of the instance for metric %s)", a.Target, a.Metric)
		}
		if a.Min == 0 {
			bad(at("autoscale.min", "autoscale.metric"), "autoscale.min", "autoscale.min 0 needs metric rps or concurrency: %s cannot wake an app at zero", a.Metric)
		}
	case MetricRPS:
		if a.Target < 1 {
			bad(targetLine, "autoscale.target", "autoscale.target %d must be at least 1 (requests per second per replica for metric rps)", a.Target)
		}
	case MetricConcurrency:
		if a.Target < 1 {
			bad(targetLine, "autoscale.target", "autoscale.target %d must be at least 1 (in-flight requests per replica for metric concurrency)", a.Target)
		}
	default:
		bad(at("autoscale.metric"), "autoscale.metric", "autoscale.metric %s is not a metric (allowed: cpu, memory, rps, concurrency)", quoteValue(a.Metric))
	}
	for _, w := range []struct {
		name string
		d    Duration
	}{{"scale_up_window", a.ScaleUpWindow}, {"scale_down_window", a.ScaleDownWindow}} {
		if w.d <= 0 {
			field := "autoscale." + w.name
			bad(at(field), field, "%s %s must be a positive duration (e.g. 30s)", field, quoteValue(w.d.String()))
		}
	}
}

func (m *Manifest) validateEnv(at func(...string) int, bad func(int, string, string, ...any)) {
	names := make([]string, 0, len(m.Env))
	for k := range m.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		field := "env." + k
		line := at(field, "env")
		switch {
		case !envName.MatchString(k):
			bad(line, field, "env name %s is not a variable name (letters, digits and _, not starting with a digit)", quoteValue(k))
		case k == "PORT":
			bad(line, field, "env.PORT is set by fnrun to the port the app must listen on: remove it")
		case strings.ContainsRune(m.Env[k], 0):
			bad(line, field, "env.%s %s contains a NUL byte", k, quoteValue(m.Env[k]))
		}
	}
}
