package scheduler

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// DefaultLogMaxBytes is the size at which an app's log file is rotated (8 MiB); one older
// file (app.log.1) is kept beside it.
const DefaultLogMaxBytes = 8 << 20

// LogSink appends replica output to an app's log file, each line prefixed with the replica's
// hostname, rotating by size; the file outlives crashed replicas and daemon restarts.
type LogSink struct {
	mu       sync.Mutex
	path     string
	maxBytes int64
	f        *os.File
	size     int64
}

// OpenLogSink opens (appending) the log file at path.
func OpenLogSink(path string, maxBytes int64) (*LogSink, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultLogMaxBytes
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create log dir for %s: %w", path, err)
	}
	s := &LogSink{path: path, maxBytes: maxBytes}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *LogSink) open() error {
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log %s: %w", s.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log %s: %w", s.path, err)
	}
	s.f, s.size = f, st.Size()
	return nil
}

// WriteLine appends one line "hostname | text\n".
func (s *LogSink) WriteLine(hostname string, line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return
	}
	if s.size >= s.maxBytes {
		s.f.Close()
		_ = os.Rename(s.path, s.path+".1")
		if err := s.open(); err != nil {
			s.f = nil
			return
		}
	}
	buf := make([]byte, 0, len(hostname)+len(line)+4)
	buf = append(buf, hostname...)
	buf = append(buf, " | "...)
	buf = append(buf, line...)
	buf = append(buf, '\n')
	n, _ := s.f.Write(buf)
	s.size += int64(n)
}

// Close closes the file; later writes are dropped.
func (s *LogSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// Writer returns an io.Writer for one replica's output that splits it into lines.
func (s *LogSink) Writer(hostname string) *LineWriter {
	return &LineWriter{sink: s, hostname: hostname}
}

// LineWriter buffers partial lines of one replica's output and hands whole lines to the sink.
type LineWriter struct {
	mu       sync.Mutex
	sink     *LogSink
	hostname string
	partial  []byte
}

// maxLine is the longest line kept whole (64 KiB); longer ones are split.
const maxLine = 64 << 10

// Write implements io.Writer.
func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			if len(w.partial) >= maxLine {
				w.sink.WriteLine(w.hostname, w.partial)
				w.partial = w.partial[:0]
			}
			break
		}
		line := p[:i]
		if len(w.partial) > 0 {
			line = append(w.partial, line...)
		}
		w.sink.WriteLine(w.hostname, bytes.TrimSuffix(line, []byte("\r")))
		w.partial = w.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

// Flush writes out a trailing partial line.
func (w *LineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.sink.WriteLine(w.hostname, w.partial)
		w.partial = w.partial[:0]
	}
}

// TailLines returns the last n lines of the log file at path (and its rotated predecessor),
// optionally only those of one replica.
func TailLines(path string, n int, hostname string) ([]string, error) {
	var lines []string
	for _, p := range []string{path + ".1", path} {
		data, err := os.ReadFile(p)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return nil, fmt.Errorf("read log %s: %w", p, err)
		}
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(l) == 0 {
				continue
			}
			if hostname != "" && !bytes.HasPrefix(l, []byte(hostname+" | ")) {
				continue
			}
			lines = append(lines, string(l))
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}
