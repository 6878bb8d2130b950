// Package export turns an fnrun manifest into Kubernetes and Knative objects so the same app can move to a cluster.
package export
