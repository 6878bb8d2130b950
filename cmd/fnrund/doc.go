// Command fnrund is the fnrun daemon: it keeps deployed apps running in cgroup sandboxes, autoscales them and routes their HTTP traffic, serving a JSON API on a Unix socket.
package main
