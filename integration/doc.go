// Package integration holds end-to-end tests that start the real fnrund, deploy with the real fnrun CLI and drive HTTP through the router, on this host's cgroups or inside the cgroup v2 VM.
package integration
