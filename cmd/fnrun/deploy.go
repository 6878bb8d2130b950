package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/fnrun/fnrun/cmd/internal/api"
	"github.com/fnrun/fnrun/runtime"
)

var entrypointRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$`)

// splitTarget tells a MODULE:ATTR entrypoint (run from the current directory) from a directory.
func splitTarget(arg string) (dir, entry string) {
	if arg == "" {
		return ".", ""
	}
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		return arg, ""
	}
	if entrypointRe.MatchString(arg) {
		return ".", arg
	}
	return arg, ""
}

func newDeployCmd(g *globals) *cobra.Command {
	var config, name, appID, output string
	cmd := &cobra.Command{
		Use:     "deploy [DIR|MODULE:ATTR]",
		Short:   "Deploy an app (a directory, or a Python ASGI MODULE:ATTR from the current directory)",
		Example: "  fnrun deploy app:app\n  fnrun deploy examples/autoscale-cpu\n  fnrun deploy . --config jcloud.yml --app-id myapp-1a2b3c4d5e",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			dir, entry := splitTarget(arg)
			st, err := os.Stat(dir)
			if err != nil || !st.IsDir() {
				return fmt.Errorf("%s is neither a directory nor a MODULE:ATTR entrypoint", arg)
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			// Validate the manifest here first: a bad one deploys nothing.
			m, mpath, err := runtime.LoadManifest(abs, config)
			if err != nil {
				return err
			}
			req := api.DeployRequest{Name: name, AppID: appID, Entrypoint: entry}
			if req.Name == "" {
				req.Name = filepath.Base(abs)
			}
			if config != "" {
				data, err := os.ReadFile(config)
				if err != nil {
					return fmt.Errorf("read --config: %w", err)
				}
				req.ManifestName, req.Manifest = filepath.Base(mpath), data
			}
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(runtime.PackDir(abs, pw)) }()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			quiet := output == "json"
			progress := func(p string) {
				if !quiet {
					fmt.Fprintln(os.Stderr, "  "+p)
				}
			}
			if !quiet {
				fmt.Fprintf(os.Stderr, "Deploying %s (%s, %s) ...\n", req.Name, describeManifest(m), manifestSource(mpath))
			}
			app, logs, err := g.client().Deploy(ctx, req, pr, progress)
			if err != nil {
				if len(logs) > 0 {
					fmt.Fprintln(os.Stderr, "Last log lines:")
					for _, l := range logs {
						fmt.Fprintln(os.Stderr, "  "+l)
					}
				}
				return err
			}
			if quiet {
				return printJSON(app)
			}
			printDeployTable(os.Stdout, app)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&config, "config", "", "manifest file (wins over fnrun.yml / jcloud.yml in the directory)")
	f.StringVar(&name, "name", "", "app name (default: the directory's name)")
	f.StringVar(&appID, "app-id", "", "redeploy this existing app as a new revision (rolling, no failed requests)")
	f.StringVarP(&output, "output", "o", "", "output format: json")
	return cmd
}

func describeManifest(m *runtime.Manifest) string {
	as := m.Autoscale
	return fmt.Sprintf("instance %s, autoscale %d..%d on %s target %d, timeout %ds, protocol %s", m.Instance, as.Min, as.Max, as.Metric, as.Target, m.Timeout, protocolName(m))
}

func manifestSource(path string) string {
	if path == "" {
		return "no manifest: defaults"
	}
	return "manifest " + path
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
