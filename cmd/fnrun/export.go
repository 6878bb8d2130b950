package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fnrun/fnrun/runtime"
	"github.com/fnrun/fnrun/runtime/export"
)

// exportLookup finds a deployed app by id and returns its manifest and entrypoint ("" for a command app).
// It is nil until the daemon lookup is wired; then `fnrun export APP` works for deployed apps too.
var exportLookup func(app string) (*runtime.Manifest, string, error)

// exportSource is the app an export starts from.
type exportSource struct {
	name       string            // app name, a DNS label
	manifest   *runtime.Manifest // with defaults applied
	entrypoint string            // MODULE:ATTR or ""
	dir        string            // app directory (the Docker build context); "" for a deployed app
}

// resolveExportSource reads the app named by arg: a directory, a MODULE:ATTR entrypoint in the
// current directory, or (through exportLookup) a deployed app id.
func resolveExportSource(arg, config, name string) (*exportSource, error) {
	if arg == "" {
		arg = "."
	}
	src := &exportSource{}
	st, statErr := os.Stat(arg)
	switch {
	case statErr == nil && st.IsDir():
		src.dir = arg
	case strings.Contains(arg, ":"):
		if _, _, err := runtime.ParseEntrypoint(arg); err != nil {
			return nil, fmt.Errorf("%s is neither a directory nor a MODULE:ATTR entrypoint: %w", arg, err)
		}
		src.dir, src.entrypoint = ".", arg
	case statErr == nil:
		return nil, fmt.Errorf("%s is a file: pass the app directory, MODULE:ATTR or a deployed app id", arg)
	default:
		if config != "" {
			return nil, fmt.Errorf("--config applies to an app directory, and %s is not one", arg)
		}
		if exportLookup == nil {
			return nil, fmt.Errorf("%s is not a directory; exporting a deployed app needs the daemon: run from the app directory (fnrun export . or fnrun export MODULE:ATTR)", arg)
		}
		m, entry, err := exportLookup(arg)
		if err != nil {
			return nil, fmt.Errorf("look up app %s: %w", arg, err)
		}
		src.manifest, src.entrypoint = m, entry
		src.name = name
		if src.name == "" {
			src.name = export.DNSLabel(arg)
		}
		return src, nil
	}

	abs, err := filepath.Abs(src.dir)
	if err != nil {
		return nil, fmt.Errorf("app directory %s: %w", src.dir, err)
	}
	src.dir = abs
	m, _, err := runtime.LoadManifest(abs, config)
	if err != nil {
		return nil, err
	}
	src.manifest = m
	src.name = name
	if src.name == "" {
		src.name = export.DNSLabel(filepath.Base(abs))
		if src.name == "" {
			return nil, fmt.Errorf("cannot make an app name from directory %s: pass --name", abs)
		}
	}
	return src, nil
}

// detectExportEntrypoint finds the ASGI app of a directory the way fnrun deploy does (main.py, app.py, ...).
// runtime.Detect also picks a host python, which a container does not use: the probe is a no-op here
// and only the MODULE:ATTR of its uvicorn command line is kept.
func detectExportEntrypoint(dir string, m *runtime.Manifest) (string, error) {
	c, err := runtime.Detect(dir, "", m, runtime.DetectOptions{Probe: func(string) error { return nil }})
	if err != nil {
		return "", err
	}
	if c.Runtime != runtime.RuntimePythonASGI {
		return "", fmt.Errorf("%s is a %s app, not python-asgi", dir, c.Runtime)
	}
	for i, a := range c.Args[:len(c.Args)-1] {
		if a == "uvicorn" {
			entry := c.Args[i+1]
			if _, _, err := runtime.ParseEntrypoint(entry); err != nil {
				return "", err
			}
			return entry, nil
		}
	}
	return "", fmt.Errorf("no uvicorn MODULE:ATTR in %q: pass MODULE:ATTR", c.Args)
}

// exportFile is one file an export writes into the -o directory.
type exportFile struct {
	path string
	data []byte
}

// writeExportFiles writes files; if any exists with other content, none is written unless force.
func writeExportFiles(files []exportFile, force bool) error {
	for _, f := range files {
		old, err := os.ReadFile(f.path)
		switch {
		case err == nil && !bytes.Equal(old, f.data) && !force:
			return fmt.Errorf("%s already exists with other content: remove it or pass --force", f.path)
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("read %s: %w", f.path, err)
		}
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return nil
}

func newExportCmd() *cobra.Command {
	var kindFlag, image, config, outDir, name string
	var force bool
	cmd := &cobra.Command{
		Use:   "export [APP|DIR|MODULE:ATTR]",
		Short: "Write Kubernetes (Deployment, Service, HPA) or Knative YAML and a Dockerfile for an app",
		Long: `Export turns an app's manifest into objects for a cluster, so the app can outgrow one host.

--kind kubernetes writes an apps/v1 Deployment, a v1 Service (port 80 to 8080) and an
autoscaling/v2 HorizontalPodAutoscaler. An HPA scales on cpu or memory only and never to
zero: apps that scale on rps or concurrency need --kind knative.
--kind knative writes a serving.knative.dev/v1 Service with the autoscaling annotations.

Without -o the YAML goes to stdout; with -o DIR, DIR gets kubernetes.yaml or knative.yaml
and a Dockerfile that builds the app from its directory.`,
		Example: "  fnrun export . --kind kubernetes\n  fnrun export app:app --kind knative --image registry.example.com/hello:1 -o deploy/\n  fnrun export examples/autoscale-cpu --kind kubernetes | kubectl apply -f -",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := export.ParseKind(kindFlag)
			if err != nil {
				return err
			}
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			src, err := resolveExportSource(arg, config, name)
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			defaultImage := image == ""
			if defaultImage {
				image = src.name + ":latest"
			}
			in := export.Input{Name: src.name, Manifest: src.manifest, Image: image, Entrypoint: src.entrypoint}
			yamlOut, err := export.Render(kind, in)
			if err != nil {
				return err
			}
			if defaultImage {
				fmt.Fprintf(stderr, "note: no --image: using %s; build and push it, or pass --image REGISTRY/%s:TAG\n", image, src.name)
			}
			if outDir == "" {
				_, err := cmd.OutOrStdout().Write(yamlOut)
				return err
			}

			if src.entrypoint == "" && len(src.manifest.Command) == 0 && src.dir != "" {
				entry, err := detectExportEntrypoint(src.dir, src.manifest)
				if err != nil {
					fmt.Fprintf(stderr, "note: the Dockerfile has no CMD: %v\n", err)
				}
				in.Entrypoint = entry
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return fmt.Errorf("create output directory %s: %w", outDir, err)
			}
			yamlPath := filepath.Join(outDir, kind.FileName())
			dockerPath := filepath.Join(outDir, "Dockerfile")
			files := []exportFile{{yamlPath, yamlOut}, {dockerPath, []byte(export.Dockerfile(in, src.manifest.Command))}}
			if err := writeExportFiles(files, force); err != nil {
				return err
			}
			printExportNextSteps(stderr, src, kind, image, yamlPath, dockerPath)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&kindFlag, "kind", string(export.KindKubernetes), "what to write: kubernetes (Deployment, Service, HPA) or knative (Knative Service)")
	f.StringVar(&image, "image", "", "container image of the app (default NAME:latest)")
	f.StringVar(&config, "config", "", "manifest file (wins over fnrun.yml / jcloud.yml in the directory)")
	f.StringVarP(&outDir, "output", "o", "", "write kubernetes.yaml or knative.yaml and a Dockerfile into this directory instead of YAML to stdout")
	f.StringVar(&name, "name", "", "app name used for every object (default: the directory's name as a DNS label)")
	f.BoolVar(&force, "force", false, "overwrite files in the -o directory that have other content")
	return cmd
}

// printExportNextSteps tells how to build the image and apply the YAML.
func printExportNextSteps(w io.Writer, src *exportSource, kind export.Kind, image, yamlPath, dockerPath string) {
	fmt.Fprintf(w, "wrote %s and %s\n", yamlPath, dockerPath)
	if src.dir != "" {
		fmt.Fprintf(w, "next: docker build -f %s -t %s %s && docker push %s\n", dockerPath, image, src.dir, image)
	}
	fmt.Fprintf(w, "      kubectl apply -f %s\n", yamlPath)
	if kind == export.KindKubernetes {
		fmt.Fprintln(w, "      (the HorizontalPodAutoscaler needs metrics-server in the cluster)")
	}
}
