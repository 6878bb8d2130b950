package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"time"
)

// logs answers GET /v1/apps/{id}/logs: the app's log lines (optionally one replica's and only
// the newest since a duration), then, with follow, new lines as they come.
func (d *daemon) logs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := d.sched.Status(id); err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	q := r.URL.Query()
	replica := q.Get("replica")
	var since time.Time
	if s := q.Get("since"); s != "" {
		dur, err := time.ParseDuration(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		since = time.Now().Add(-dur)
	}
	path := d.sched.LogPath(id)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	flusher, _ := w.(http.Flusher)
	prefix := []byte(replica + " | ")
	emit := func(data []byte) {
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			if replica != "" && !bytes.HasPrefix(line, prefix) {
				continue
			}
			_, _ = w.Write(line)
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
	// Old lines: the rotated file, then the current one (since: judged by file time).
	if st, err := os.Stat(path + ".1"); err == nil && st.ModTime().After(since) {
		if data, err := os.ReadFile(path + ".1"); err == nil {
			emit(data)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		if q.Get("follow") == "" {
			return
		}
		f = nil
	}
	var off int64
	if f != nil {
		data, _ := io.ReadAll(bufio.NewReader(f))
		off = int64(len(data))
		f.Close()
		if st, err := os.Stat(path); err == nil && st.ModTime().After(since) {
			emit(data)
		}
	}
	if q.Get("follow") == "" {
		return
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	var partial []byte
	for {
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
		if _, err := d.sched.Status(id); err != nil {
			return // removed
		}
		st, err := os.Stat(path)
		if err != nil {
			continue
		}
		if st.Size() < off { // rotated
			off = 0
		}
		if st.Size() == off {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		_, _ = f.Seek(off, io.SeekStart)
		data, _ := io.ReadAll(f)
		f.Close()
		off += int64(len(data))
		data = append(partial, data...)
		i := bytes.LastIndexByte(data, '\n')
		partial = append([]byte(nil), data[i+1:]...)
		emit(data[:i+1])
	}
}
