// Package admin serves fnrund's read-only admin listener: Prometheus metrics and the web dashboard.
package admin
