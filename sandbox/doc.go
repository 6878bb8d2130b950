// Package sandbox runs one replica as a process confined in its own cgroup and namespaces, and stops and measures it.
package sandbox
