package scheduler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogSinkPrefixesAndRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "app.log")
	s, err := OpenLogSink(path, 120)
	if err != nil {
		t.Fatal(err)
	}
	w := s.Writer("app-00001-abcde")
	w.Write([]byte("hello\nwor"))
	w.Write([]byte("ld\r\npartial"))
	w.Flush()
	for i := 0; i < 5; i++ {
		s.WriteLine("other", []byte("filler line"))
	}
	s.Close()
	if _, err := os.Stat(path + ".1"); err != nil {
		t.Errorf("no rotated file: %v", err)
	}
	lines, err := TailLines(path, 100, "app-00001-abcde")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"app-00001-abcde | hello", "app-00001-abcde | world", "app-00001-abcde | partial"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines = %q, want %q", lines, want)
	}
	all, _ := TailLines(path, 2, "")
	if len(all) != 2 || all[1] != "other | filler line" {
		t.Errorf("tail 2 = %q", all)
	}
}

func TestRevisionName(t *testing.T) {
	for n, want := range map[int]string{1: "00001", 42: "00042", 12345: "12345"} {
		if got := RevisionName(n); got != want {
			t.Errorf("RevisionName(%d) = %q, want %q", n, got, want)
		}
	}
}
