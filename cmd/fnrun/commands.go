package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"
)

func newListCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List deployed apps",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			apps, err := g.client().List(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(apps)
			}
			if len(apps) == 0 {
				fmt.Println("No apps deployed.")
				return nil
			}
			printList(os.Stdout, apps)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json")
	return cmd
}

func newStatusCmd(g *globals) *cobra.Command {
	var output string
	var spec bool
	cmd := &cobra.Command{
		Use:   "status APP",
		Short: "Show an app's replicas, their CPU and memory, and its scaling decisions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := g.client().Status(cmd.Context(), args[0], spec)
			if err != nil {
				return err
			}
			if spec {
				return printJSON(a.Specs)
			}
			if output == "json" {
				return printJSON(a)
			}
			printStatus(os.Stdout, &a)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json")
	cmd.Flags().BoolVar(&spec, "spec", false, "print each replica's OCI runtime spec")
	return cmd
}

func newRemoveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "remove APP",
		Aliases: []string{"rm", "delete"},
		Short:   "Stop an app's replicas (draining them) and delete it",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.client().Remove(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Printf("Removed %s\n", args[0])
			return nil
		},
	}
}

func newLogsCmd(g *globals) *cobra.Command {
	var follow bool
	var replica, since string
	cmd := &cobra.Command{
		Use:   "logs APP",
		Short: "Print an app's replica output, each line prefixed with its hostname",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			return g.client().Logs(ctx, args[0], replica, since, follow, os.Stdout)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines")
	cmd.Flags().StringVar(&replica, "replica", "", "only this replica's lines (its hostname)")
	cmd.Flags().StringVar(&since, "since", "", "only lines newer than this duration (e.g. 10m)")
	return cmd
}
