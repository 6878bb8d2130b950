// Package systemd runs fnrund as a systemd service: it finds the cgroup subtree systemd delegated
// to the daemon, moves the daemon into a leaf of it, loads the daemon's YAML config file under its
// flags and tells systemd when the daemon is ready.
package systemd
