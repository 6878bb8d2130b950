package api

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/fnrun/fnrun/scheduler"
)

// Header names of a deploy request.
const (
	// HeaderManifest carries the manifest bytes, base64, when --config names one.
	HeaderManifest = "X-Fnrun-Manifest"
	// HeaderManifestName is the manifest's file name, for error messages.
	HeaderManifestName = "X-Fnrun-Manifest-Name"
)

// Info describes the daemon.
type Info struct {
	// RouterAddr is host:port of the HTTP router.
	RouterAddr string `json:"router_addr"`
	// Domain: apps are served at <app-id>.<Domain>.
	Domain     string `json:"domain"`
	CgroupMode string `json:"cgroup_mode"`
	CgroupRoot string `json:"cgroup_root"`
	StateDir   string `json:"state_dir"`
	// AdminAddr is host:port of the read-only admin listener (metrics, dashboard); "" when disabled.
	AdminAddr string `json:"admin_addr"`
}

// App is an app as the API reports it.
type App struct {
	scheduler.AppStatus
	// Endpoint is the app's URL through the router.
	Endpoint string `json:"endpoint"`
	// CreditsPerHour is instance credits × minimum replicas.
	CreditsPerHour float64 `json:"credits_per_hour"`
	// Specs holds each replica's OCI spec when asked for (?spec=1), by hostname.
	Specs map[string]*specs.Spec `json:"specs,omitempty"`
}

// DeployEvent is one line of the NDJSON stream a deploy answers with: progress lines, then
// one line with App or Error.
type DeployEvent struct {
	Progress string   `json:"progress,omitempty"`
	App      *App     `json:"app,omitempty"`
	Error    string   `json:"error,omitempty"`
	Logs     []string `json:"logs,omitempty"`
}

// Error is the body of a failed API call.
type Error struct {
	Error string `json:"error"`
}
