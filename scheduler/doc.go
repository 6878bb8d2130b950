// Package scheduler drives desired state to actual: it collects replica metrics, decides replica counts and reconciles sandboxes.
package scheduler
