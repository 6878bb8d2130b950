package admin

import "embed"

// assets is the dashboard: index.html, its script and style, and the vendored uPlot build.
//
//go:embed assets
var assets embed.FS
