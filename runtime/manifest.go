package runtime

import "time"

// Manifest is an app's fnrun.yml (or jcloud.yml) after defaults are applied.
type Manifest struct {
	// Instance is the instance type of every replica, "C1".."C8" (default C3).
	Instance string `yaml:"instance" json:"instance"`
	// Timeout is the longest a request may take, in seconds (default 120).
	Timeout int `yaml:"timeout" json:"timeout"`
	// Autoscale says how many replicas run and what drives the count.
	Autoscale Autoscale `yaml:"autoscale" json:"autoscale"`
	// Env is extra environment for every replica.
	Env map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	// Command is an explicit command line (argv); empty means detect. A YAML string
	// becomes ["/bin/sh", "-c", string] (the shell reads $PORT from the environment);
	// in a YAML list, "$PORT" and "${PORT}" are expanded by the sandbox (ExpandPort).
	Command []string `yaml:"command,omitempty" json:"command,omitempty"`
	// Health is an HTTP path probed for readiness ("" means a TCP connect).
	Health string `yaml:"health,omitempty" json:"health,omitempty"`
	// Protocol is what the app serves on $PORT: "http1" (HTTP/1.1, also when empty) or "h2c"
	// (HTTP/2 without TLS, e.g. a gRPC server). Clients may use HTTP/1.1 or h2c either way.
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
}

// Protocols an app may serve (Manifest.Protocol).
const (
	ProtocolHTTP1 = "http1"
	ProtocolH2C   = "h2c"
)

// H2C reports whether the app serves h2c rather than HTTP/1.1.
func (m *Manifest) H2C() bool { return m.Protocol == ProtocolH2C }

// Autoscale is the autoscale section of a manifest.
type Autoscale struct {
	// Min is the least number of replicas (default 1; 0 only for rps/concurrency).
	Min int `yaml:"min" json:"min"`
	// Max is the most replicas (default 10).
	Max int `yaml:"max" json:"max"`
	// Metric is what drives scaling: cpu, memory, rps or concurrency (default cpu).
	Metric string `yaml:"metric" json:"metric"`
	// Target is the per-replica goal: percent of the instance for cpu/memory (1..100),
	// requests per second for rps, in-flight requests for concurrency (default 70).
	Target int `yaml:"target" json:"target"`
	// ScaleUpWindow is how much recent history a scale-up looks at (default 1s).
	ScaleUpWindow Duration `yaml:"scale_up_window" json:"scale_up_window"`
	// ScaleDownWindow is how long the desired count must stay lower before replicas go (default 30s).
	ScaleDownWindow Duration `yaml:"scale_down_window" json:"scale_down_window"`
}

// Duration is a time.Duration written in YAML as "30s", "1m" or a number of seconds.
type Duration time.Duration

// Metric names accepted in autoscale.metric.
const (
	MetricCPU         = "cpu"
	MetricMemory      = "memory"
	MetricRPS         = "rps"
	MetricConcurrency = "concurrency"
)

// Defaults applied to fields a manifest leaves out.
const (
	DefaultTimeoutSeconds  = 120
	DefaultMin             = 1
	DefaultMax             = 10
	DefaultMetric          = MetricCPU
	DefaultTarget          = 70
	DefaultScaleUpWindow   = Duration(time.Second)
	DefaultScaleDownWindow = Duration(30 * time.Second)
)

// ManifestNames are the file names looked for in an app directory, in order.
var ManifestNames = []string{"fnrun.yml", "fnrun.yaml", "jcloud.yml", "jcloud.yaml"}
