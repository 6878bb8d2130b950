package runtime

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultMaxArchiveBytes is the largest app upload accepted by default (256 MiB of file data).
const DefaultMaxArchiveBytes = 256 << 20

// ErrUnsafeArchive is wrapped by every refusal of an uploaded entry.
var ErrUnsafeArchive = errors.New("unsafe archive")

// skipDirs are directory names never uploaded.
var skipDirs = map[string]bool{".git": true, "__pycache__": true, ".mypy_cache": true, ".pytest_cache": true}

// PackDir writes dir as a tar stream to w: regular files, directories and symlinks, with
// paths relative to dir.
func PackDir(dir string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		if d.IsDir() && skipDirs[d.Name()] {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return fmt.Errorf("pack %s: %w", rel, err)
		}
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname, hdr.Uid, hdr.Gid = "", "", 0, 0
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("pack %s: %w", rel, err)
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("pack %s: %w", rel, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pack %s: %w", dir, err)
	}
	return tw.Close()
}

// UnpackSafe extracts the tar stream r into dir (which must exist and be empty). It refuses,
// naming the entry: absolute paths or "..", symlinks and hardlinks that point outside dir,
// device files, FIFOs, and archives whose file data passes maxBytes. Files are written
// read-only for group and others (0644/0755 at most); ownership is not taken from the archive.
func UnpackSafe(r io.Reader, dir string, maxBytes int64) error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxArchiveBytes
	}
	tr := tar.NewReader(r)
	var total int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		name, err := cleanEntryName(hdr.Name)
		if err != nil {
			return fmt.Errorf("%w: entry %q: %v", ErrUnsafeArchive, hdr.Name, err)
		}
		if name == "" {
			continue
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		if err := checkParents(dir, name); err != nil {
			return fmt.Errorf("%w: entry %q: %v", ErrUnsafeArchive, hdr.Name, err)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", name, err)
			}
		case tar.TypeReg:
			total += hdr.Size
			if hdr.Size < 0 || total > maxBytes {
				return fmt.Errorf("%w: entry %q: archive is larger than the limit of %d bytes", ErrUnsafeArchive, hdr.Name, maxBytes)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return fmt.Errorf("create %s: %w", path.Dir(name), err)
			}
			mode := os.FileMode(0o644)
			if hdr.Mode&0o111 != 0 {
				mode = 0o755
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
			if err != nil {
				return fmt.Errorf("%w: entry %q: %v", ErrUnsafeArchive, hdr.Name, err)
			}
			n, err := io.Copy(f, io.LimitReader(tr, hdr.Size))
			cerr := f.Close()
			if err != nil || cerr != nil || n != hdr.Size {
				return fmt.Errorf("write %s: %w", name, errors.Join(err, cerr, io.ErrUnexpectedEOF))
			}
		case tar.TypeSymlink:
			if err := linkInside(name, hdr.Linkname); err != nil {
				return fmt.Errorf("%w: entry %q: symlink to %q %v", ErrUnsafeArchive, hdr.Name, hdr.Linkname, err)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return fmt.Errorf("create %s: %w", path.Dir(name), err)
			}
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return fmt.Errorf("%w: entry %q: %v", ErrUnsafeArchive, hdr.Name, err)
			}
		case tar.TypeLink:
			lname, err := cleanEntryName(hdr.Linkname)
			if err != nil || lname == "" {
				return fmt.Errorf("%w: entry %q: hardlink to %q points outside the app directory", ErrUnsafeArchive, hdr.Name, hdr.Linkname)
			}
			if err := checkParents(dir, lname); err != nil {
				return fmt.Errorf("%w: entry %q: hardlink to %q: %v", ErrUnsafeArchive, hdr.Name, hdr.Linkname, err)
			}
			src := filepath.Join(dir, filepath.FromSlash(lname))
			if st, err := os.Lstat(src); err != nil || !st.Mode().IsRegular() {
				return fmt.Errorf("%w: entry %q: hardlink to %q: not a file extracted before it", ErrUnsafeArchive, hdr.Name, hdr.Linkname)
			}
			if err := os.Link(src, target); err != nil {
				return fmt.Errorf("%w: entry %q: %v", ErrUnsafeArchive, hdr.Name, err)
			}
		case tar.TypeXGlobalHeader:
			continue
		default:
			return fmt.Errorf("%w: entry %q: type %q is not allowed (only files, directories and links inside the app)", ErrUnsafeArchive, hdr.Name, string(hdr.Typeflag))
		}
	}
}

// cleanEntryName returns the slash-separated, cleaned relative name of an entry, or an error
// when it is absolute or leaves the directory.
func cleanEntryName(name string) (string, error) {
	if name == "" {
		return "", errors.New("empty name")
	}
	if strings.ContainsRune(name, 0) {
		return "", errors.New("name contains NUL")
	}
	if strings.HasPrefix(name, "/") || filepath.IsAbs(name) {
		return "", errors.New("absolute path")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", errors.New(`path contains ".."`)
		}
	}
	c := path.Clean(name)
	if c == "." {
		return "", nil
	}
	return c, nil
}

// linkInside checks that a symlink at name with target link resolves inside the directory
// (lexically; the parents are checked for symlinks separately).
func linkInside(name, link string) error {
	if link == "" {
		return errors.New("is empty")
	}
	if path.IsAbs(link) {
		return errors.New("points outside the app directory (absolute)")
	}
	resolved := path.Join(path.Dir(name), link)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return errors.New("points outside the app directory")
	}
	return nil
}

// checkParents refuses a name whose existing parent directories inside dir are symlinks,
// so that an earlier symlink entry cannot redirect a later file outside dir.
func checkParents(dir, name string) error {
	parts := strings.Split(name, "/")
	p := dir
	for _, part := range parts[:len(parts)-1] {
		p = filepath.Join(p, part)
		st, err := os.Lstat(p)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return errors.New("a parent directory is a symlink")
		}
	}
	if st, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(name))); err == nil && !st.IsDir() {
		return errors.New("entry appears twice")
	}
	return nil
}
