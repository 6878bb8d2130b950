package runtime

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entry is one tar entry of a test archive.
type entry struct {
	name, link, body string
	typ              byte
	size             int64 // overrides len(body) in the header when non-zero
}

func makeTar(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: typ, Mode: 0o644, Size: int64(len(e.body))}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		if e.size != 0 {
			hdr.Size = e.size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil && e.size == 0 {
				t.Fatal(err)
			}
		}
	}
	tw.Flush()
	return buf.Bytes()
}

// TestUnpackSafeRefusesHostileArchives: 20 hostile tarballs, each refused with an error naming
// the entry, and nothing written outside the target directory.
func TestUnpackSafeRefusesHostileArchives(t *testing.T) {
	cases := []struct {
		name    string
		entries []entry
		entry   string // the entry the error must name
	}{
		{"absolute path", []entry{{name: "/etc/cron.d/evil", body: "x"}}, "/etc/cron.d/evil"},
		{"dot-dot", []entry{{name: "../evil", body: "x"}}, "../evil"},
		{"nested dot-dot", []entry{{name: "a/../../evil", body: "x"}}, "a/../../evil"},
		{"dot-dot dir", []entry{{name: "../", typ: tar.TypeDir}}, "../"},
		{"symlink to /etc/shadow", []entry{{name: "shadow", link: "/etc/shadow", typ: tar.TypeSymlink}}, "shadow"},
		{"symlink up", []entry{{name: "up", link: "../../", typ: tar.TypeSymlink}}, "up"},
		{"symlink up nested", []entry{{name: "a/b", link: "../../x", typ: tar.TypeSymlink}}, "a/b"},
		{"symlink root", []entry{{name: "r", link: "/", typ: tar.TypeSymlink}}, "r"},
		{"write through symlink dir", []entry{{name: "d", link: "sub", typ: tar.TypeSymlink}, {name: "sub/", typ: tar.TypeDir}, {name: "d/x", body: "x"}}, "d/x"},
		{"hardlink outside", []entry{{name: "h", link: "/etc/passwd", typ: tar.TypeLink}}, "h"},
		{"hardlink dot-dot", []entry{{name: "h", link: "../x", typ: tar.TypeLink}}, "h"},
		{"hardlink to missing", []entry{{name: "h", link: "nothere", typ: tar.TypeLink}}, "h"},
		{"char device", []entry{{name: "null", typ: tar.TypeChar}}, "null"},
		{"block device", []entry{{name: "sda", typ: tar.TypeBlock}}, "sda"},
		{"fifo", []entry{{name: "pipe", typ: tar.TypeFifo}}, "pipe"},
		{"too big", []entry{{name: "big", body: strings.Repeat("x", 2048)}}, "big"},
		{"too big in total", []entry{{name: "a", body: strings.Repeat("x", 600)}, {name: "b", body: strings.Repeat("x", 600)}}, "b"},
		{"duplicate file", []entry{{name: "a", body: "1"}, {name: "a", body: "2"}}, "a"},
		{"file over symlink", []entry{{name: "l", link: "x", typ: tar.TypeSymlink}, {name: "l", body: "2"}}, "l"},
		{"corrupt archive (a NUL in a name cannot even be written by archive/tar)", []entry{{name: "a\x00b", body: "x"}}, "a\x00b"},
	}
	if len(cases) < 20 {
		t.Fatalf("only %d hostile archives", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "code")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			data := makeTarLenient(t, c.entries)
			err := UnpackSafe(bytes.NewReader(data), dir, 1024)
			if err == nil {
				t.Fatalf("accepted")
			}
			if !errors.Is(err, ErrUnsafeArchive) && !strings.Contains(err.Error(), "read archive") {
				t.Errorf("error %v does not wrap ErrUnsafeArchive", err)
			}
			if !strings.Contains(err.Error(), c.entry) && !strings.Contains(err.Error(), "read archive") {
				t.Errorf("error %q does not name entry %q", err, c.entry)
			}
			// Nothing outside dir.
			ents, _ := os.ReadDir(parent)
			if len(ents) != 1 {
				t.Errorf("files written beside the target dir: %v", ents)
			}
		})
	}
}

// makeTarLenient writes an archive even when Go's tar writer refuses a name (NUL): then the
// error comes from the reader.
func makeTarLenient(t *testing.T, entries []entry) []byte {
	t.Helper()
	for _, e := range entries {
		if strings.ContainsRune(e.name, 0) {
			return []byte("not a tar archive at all, but long enough to be read as one header block................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................")
		}
	}
	return makeTar(t, entries)
}

func TestPackUnpackRoundTrip(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{"app.py": "print(1)\n", "pkg/mod.py": "x = 1\n", "jcloud.yml": "instance: C1\n"}
	for n, c := range files {
		p := filepath.Join(src, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(c), 0o644)
	}
	os.MkdirAll(filepath.Join(src, ".git"), 0o755)
	os.WriteFile(filepath.Join(src, ".git", "HEAD"), []byte("ref"), 0o644)
	os.Symlink("app.py", filepath.Join(src, "link.py"))
	var buf bytes.Buffer
	if err := PackDir(src, &buf); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := UnpackSafe(&buf, dst, 0); err != nil {
		t.Fatal(err)
	}
	for n, c := range files {
		got, err := os.ReadFile(filepath.Join(dst, n))
		if err != nil || string(got) != c {
			t.Errorf("%s = %q, %v; want %q", n, got, err, c)
		}
	}
	if l, err := os.Readlink(filepath.Join(dst, "link.py")); err != nil || l != "app.py" {
		t.Errorf("link.py -> %q, %v", l, err)
	}
	if _, err := os.Stat(filepath.Join(dst, ".git")); err == nil {
		t.Errorf(".git was uploaded")
	}
}

// FuzzUnpackSafe: whatever the archive, nothing is written outside the target directory and
// nothing panics.
func FuzzUnpackSafe(f *testing.F) {
	f.Add(makeTar(f, []entry{{name: "a.py", body: "x"}}))
	f.Add(makeTar(f, []entry{{name: "../x", body: "x"}}))
	f.Add(makeTar(f, []entry{{name: "l", link: "/etc", typ: tar.TypeSymlink}, {name: "l/x", body: "x"}}))
	f.Add(makeTar(f, []entry{{name: "d/", typ: tar.TypeDir}, {name: "d/h", link: "d", typ: tar.TypeLink}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "code")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = UnpackSafe(bytes.NewReader(data), dir, 1<<16)
		ents, _ := os.ReadDir(parent)
		if len(ents) != 1 {
			t.Fatalf("wrote outside the target: %v", ents)
		}
		_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return nil
			}
			if info.Mode()&os.ModeSymlink != 0 {
				l, _ := os.Readlink(p)
				if filepath.IsAbs(l) {
					t.Fatalf("absolute symlink %s -> %s extracted", p, l)
				}
				rel, _ := filepath.Rel(dir, filepath.Join(filepath.Dir(p), l))
				if strings.HasPrefix(rel, "..") {
					t.Fatalf("escaping symlink %s -> %s extracted", p, l)
				}
			}
			if !info.IsDir() && info.Mode()&os.ModeType&^os.ModeSymlink != 0 {
				t.Fatalf("special file %s extracted", p)
			}
			return nil
		})
	})
}
