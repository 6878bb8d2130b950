package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/fnrun/fnrun/cmd/internal/api"
)

// globals are the flags every command shares.
type globals struct {
	socket string
}

func (g *globals) client() *api.Client { return api.NewClient(g.socket) }

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "fnrun:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "fnrun",
		Short:         "Deploy and autoscale HTTP apps on this host",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	def := os.Getenv("FNRUN_SOCKET")
	if def == "" {
		def = "/run/fnrun/fnrun.sock"
	}
	root.PersistentFlags().StringVar(&g.socket, "socket", def, "fnrund's API socket (env FNRUN_SOCKET)")
	root.AddCommand(newDeployCmd(g), newListCmd(g), newStatusCmd(g), newRemoveCmd(g), newLogsCmd(g), newExportCmd())
	for _, extra := range extraCommands {
		root.AddCommand(extra(g))
	}
	return root
}

// extraCommands are commands defined in their own files that need the shared flags.
var extraCommands []func(*globals) *cobra.Command
