package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

func main() {
	var s spec
	var outDir string
	flag.StringVar(&s.FnrunBin, "fnrun", "bin/fnrun", "the fnrun CLI binary")
	flag.StringVar(&s.FnrundBin, "fnrund", "bin/fnrund", "the fnrund daemon binary")
	flag.StringVar(&s.SrcDir, "src", "cmd/fnrund/systemd", "directory with fnrund.service, fnrund.yaml.example and debian/{postinst,prerm,postrm}")
	flag.StringVar(&s.Version, "version", "0.1.0", "package version (Debian version syntax, e.g. 0.1.0+git1a2b3c)")
	flag.StringVar(&s.Arch, "arch", runtime.GOARCH, "Go architecture of the binaries")
	flag.StringVar(&outDir, "out", "bin", "directory the .deb is written to")
	flag.Parse()
	path, err := build(s, outDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkdeb:", err)
		os.Exit(1)
	}
	abs, _ := filepath.Abs(path)
	fmt.Println(abs)
}
