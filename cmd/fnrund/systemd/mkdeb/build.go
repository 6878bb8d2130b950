package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

// Where the package puts its files. `make install` uses /usr/local/bin and /etc/systemd/system
// instead; the unit's ExecStart is rewritten to match.
const (
	binDir        = "/usr/bin"
	unitPath      = "/lib/systemd/system/fnrund.service"
	configPath    = "/etc/fnrun/fnrund.yaml"
	installBinDir = "/usr/local/bin"
)

// spec names the inputs of the package.
type spec struct {
	// FnrunBin and FnrundBin are the built binaries.
	FnrunBin, FnrundBin string
	// SrcDir holds fnrund.service, fnrund.yaml.example and debian/{postinst,prerm,postrm}.
	SrcDir string
	// Version is the package version; Arch the Go architecture (amd64, arm64).
	Version, Arch string
}

// packagedUnit returns the unit as `make install` ships it, with its binaries moved to binDir.
func packagedUnit(unit string) (string, error) {
	if !strings.Contains(unit, "ExecStart="+installBinDir+"/fnrund") {
		return "", fmt.Errorf("unit has no ExecStart=%s/fnrund line to rewrite", installBinDir)
	}
	return strings.ReplaceAll(unit, installBinDir+"/", binDir+"/"), nil
}

// packageInfo describes the package; unitFile is the rewritten unit on disk.
func packageInfo(s spec, unitFile string) *nfpm.Info {
	script := func(name string) string { return filepath.Join(s.SrcDir, "debian", name) }
	info := &nfpm.Info{
		Name:        "fnrun",
		Arch:        s.Arch,
		Platform:    "linux",
		Version:     s.Version,
		Section:     "admin",
		Priority:    "optional",
		Maintainer:  "fnrun maintainers <fnrun@localhost>",
		Description: "serverless-style HTTP app runner for one Linux host\nfnrund runs every replica of an app in its own cgroup sandbox, autoscales on\nCPU, memory or request metrics and routes requests; fnrun is its CLI.",
		Homepage:    "https://github.com/fnrun/fnrun",
		License:     "Apache-2.0",
		Overridables: nfpm.Overridables{
			Depends:    []string{"passwd"},
			Recommends: []string{"python3-fastapi", "python3-uvicorn"},
			Contents: files.Contents{
				{Source: s.FnrunBin, Destination: binDir + "/fnrun", FileInfo: &files.ContentFileInfo{Mode: 0o755}},
				{Source: s.FnrundBin, Destination: binDir + "/fnrund", FileInfo: &files.ContentFileInfo{Mode: 0o755}},
				{Source: unitFile, Destination: unitPath, FileInfo: &files.ContentFileInfo{Mode: 0o644}},
				{Source: filepath.Join(s.SrcDir, "fnrund.yaml.example"), Destination: configPath, Type: files.TypeConfigNoReplace, FileInfo: &files.ContentFileInfo{Mode: 0o644}},
				{Source: filepath.Join(s.SrcDir, "fnrund.yaml.example"), Destination: "/usr/share/doc/fnrun/fnrund.yaml.example", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
			},
			Scripts: nfpm.Scripts{
				PostInstall: script("postinst"),
				PreRemove:   script("prerm"),
				PostRemove:  script("postrm"),
			},
		},
	}
	return nfpm.WithDefaults(info)
}

// build writes the package into outDir and returns its path.
func build(s spec, outDir string) (string, error) {
	for _, f := range []string{s.FnrunBin, s.FnrundBin} {
		if st, err := os.Stat(f); err != nil {
			return "", fmt.Errorf("binary %s: %w", f, err)
		} else if st.IsDir() {
			return "", fmt.Errorf("binary %s is a directory", f)
		}
	}
	unit, err := os.ReadFile(filepath.Join(s.SrcDir, "fnrund.service"))
	if err != nil {
		return "", fmt.Errorf("read unit: %w", err)
	}
	rewritten, err := packagedUnit(string(unit))
	if err != nil {
		return "", fmt.Errorf("unit %s: %w", filepath.Join(s.SrcDir, "fnrund.service"), err)
	}
	tmp, err := os.MkdirTemp("", "fnrun-mkdeb-")
	if err != nil {
		return "", fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	unitFile := filepath.Join(tmp, "fnrund.service")
	if err := os.WriteFile(unitFile, []byte(rewritten), 0o644); err != nil {
		return "", fmt.Errorf("write unit %s: %w", unitFile, err)
	}
	info := packageInfo(s, unitFile)
	if err := nfpm.Validate(info); err != nil {
		return "", fmt.Errorf("package fnrun %s: %w", s.Version, err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", outDir, err)
	}
	out := filepath.Join(outDir, deb.Default.ConventionalFileName(info))
	f, err := os.Create(out + ".tmp")
	if err != nil {
		return "", fmt.Errorf("create %s: %w", out, err)
	}
	defer os.Remove(out + ".tmp")
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		return "", fmt.Errorf("build %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(out+".tmp", out); err != nil {
		return "", fmt.Errorf("rename %s: %w", out, err)
	}
	return out, nil
}
