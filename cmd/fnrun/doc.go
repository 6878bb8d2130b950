// Command fnrun is the fnrun CLI: it deploys apps to the fnrund daemon and shows, follows and removes them.
package main
