// Command mkdeb builds fnrun's Debian package (binaries, the fnrund systemd unit, the example
// config and the maintainer scripts) with nfpm's deb packager.
package main
