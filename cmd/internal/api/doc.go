// Package api holds the JSON types and the client of fnrund's Unix-socket API, shared by the daemon and the CLI.
package api
