package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/fnrun/fnrun/cmd/internal/api"
	fnruntime "github.com/fnrun/fnrun/runtime"
	"github.com/fnrun/fnrun/scheduler"
)

// deployMu serializes deploys: admission and id allocation look at every app.
var deployMu sync.Mutex

// deployTimeout bounds how long a deploy waits for its replicas to serve.
const deployTimeout = 120 * time.Second

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// appName turns a requested name into a DNS label of at most 40 characters.
func appName(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	n := strings.Trim(b.String(), "-")
	for strings.Contains(n, "--") {
		n = strings.ReplaceAll(n, "--", "-")
	}
	if len(n) > 40 {
		n = strings.Trim(n[:40], "-")
	}
	if n == "" {
		n = "app"
	}
	return n
}

func newAppID(name string) string {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return name + "-" + hex.EncodeToString(b)
}

// admit refuses a deploy whose minimum replicas, added to every other app's, would need more
// CPU than the host has times the overcommit factor.
func (d *daemon) admit(app scheduler.App) error {
	need := func(a scheduler.App) float64 {
		return a.Manifest.InstanceType().Cores() * float64(max(a.Manifest.Autoscale.Min, 1))
	}
	total := need(app)
	for _, st := range d.sched.List() {
		if st.ID != app.ID {
			total += need(st.App)
		}
	}
	capacity := float64(runtime.NumCPU()) * d.o.overcommit
	if total > capacity+1e-9 {
		return fmt.Errorf("admission: %s needs %.1f cores for its minimum of %d %s replica(s); with the apps already running that makes %.1f cores, more than this host's %d CPUs × overcommit %.1f = %.1f (remove an app, lower autoscale.min or instance, or start fnrund with a higher --overcommit)",
			app.ID, need(app), max(app.Manifest.Autoscale.Min, 1), app.Manifest.Instance, total, runtime.NumCPU(), d.o.overcommit, capacity)
	}
	return nil
}

func (d *daemon) deploy(w http.ResponseWriter, r *http.Request) {
	deployMu.Lock()
	defer deployMu.Unlock()
	q := r.URL.Query()
	// Everything before the stream starts is answered with a plain JSON error.
	name, appID, entry := q.Get("name"), q.Get("app_id"), q.Get("entrypoint")
	var prev *scheduler.App
	if appID != "" {
		if !dnsLabel.MatchString(appID) {
			writeError(w, http.StatusBadRequest, fmt.Errorf("app id %q is not a DNS label (a-z, 0-9 and -, at most 63)", appID))
			return
		}
		p, err := d.store.Get(appID)
		if err != nil {
			writeError(w, http.StatusNotFound, fmt.Errorf("app %s is not deployed: deploy without --app-id to create it", appID))
			return
		}
		prev = &p
	}
	if name == "" {
		name = "app"
	}
	name = appName(name)
	if entry != "" {
		if _, _, err := fnruntime.ParseEntrypoint(entry); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
	}
	app := scheduler.App{ID: newAppID(name), Name: name, Revision: 1, Entrypoint: entry, CreatedAt: time.Now()}
	if prev != nil {
		app.ID, app.Name, app.Revision, app.CreatedAt = prev.ID, prev.Name, prev.Revision+1, prev.CreatedAt
	}
	app.UpdatedAt = time.Now()
	appDir := filepath.Join(d.o.stateDir, "apps", app.ID)
	revDir := filepath.Join(appDir, "revisions", scheduler.RevisionName(app.Revision))
	cleanup := func() {
		if prev == nil {
			_ = os.RemoveAll(appDir)
		} else {
			_ = os.RemoveAll(revDir)
		}
	}
	codeDir := filepath.Join(revDir, "code")
	if err := os.MkdirAll(codeDir, 0o755); err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("create revision dir: %w", err))
		return
	}
	// The state dir is private; the code must be readable by the unprivileged replica user.
	for _, p := range []string{filepath.Join(d.o.stateDir, "apps"), appDir, filepath.Join(appDir, "revisions"), revDir} {
		_ = os.Chmod(p, 0o711)
	}
	if err := fnruntime.UnpackSafe(r.Body, codeDir, fnruntime.DefaultMaxArchiveBytes); err != nil {
		cleanup()
		writeError(w, http.StatusBadRequest, fmt.Errorf("upload: %w", err))
		return
	}
	if prev != nil {
		app.GID = prev.GID
	}
	if app.GID == 0 {
		stored, err := d.store.List()
		if err != nil {
			cleanup()
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		app.GID = nextAppGID(stored)
	}
	if err := restrictCode(codeDir, app.GID); err != nil {
		cleanup()
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	m, mfile, err := manifestFor(r, codeDir)
	if err != nil {
		cleanup()
		writeError(w, http.StatusBadRequest, err)
		return
	}
	app.Manifest, app.ManifestFile, app.CodeDir = *m, mfile, codeDir
	cmd, err := fnruntime.Detect(codeDir, entry, m, fnruntime.DetectOptions{})
	if err != nil {
		cleanup()
		writeError(w, http.StatusBadRequest, err)
		return
	}
	app.Command = cmd
	if err := d.admit(app); err != nil {
		cleanup()
		writeError(w, http.StatusConflict, err)
		return
	}

	// From here on the answer is an NDJSON stream of progress lines and one result.
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	send := func(ev api.DeployEvent) {
		_ = enc.Encode(ev)
		if flusher != nil {
			flusher.Flush()
		}
	}
	log := d.log.WithField("app", app.ID).WithField("revision", app.Revision)
	send(api.DeployEvent{Progress: fmt.Sprintf("uploaded revision %s of %s (%s)", scheduler.RevisionName(app.Revision), app.ID, cmd.Description)})

	if err := d.store.Put(app); err != nil {
		cleanup()
		send(api.DeployEvent{Error: err.Error()})
		return
	}
	if err := d.sched.Run(app); err != nil {
		d.undo(app, prev, cleanup)
		send(api.DeployEvent{Error: err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), deployTimeout)
	defer cancel()
	want := max(app.Manifest.Autoscale.Min, 1)
	err = d.sched.WaitReady(ctx, app.ID, want, func(p string) { send(api.DeployEvent{Progress: p}) })
	if err != nil {
		lines, _ := scheduler.TailLines(d.sched.LogPath(app.ID), 20, "")
		log.WithError(err).Warn("deploy failed")
		d.undo(app, prev, cleanup)
		msg := err.Error()
		if errors.Is(err, scheduler.ErrCrashLoop) || errors.Is(err, context.DeadlineExceeded) {
			msg = fmt.Sprintf("app %s did not start: %v; its last log lines follow", app.ID, err)
		}
		send(api.DeployEvent{Error: msg, Logs: lines})
		return
	}
	st, err := d.sched.Status(app.ID)
	if err != nil {
		send(api.DeployEvent{Error: err.Error()})
		return
	}
	log.Info("deployed")
	a := d.apiApp(st)
	send(api.DeployEvent{App: &a})
}

// undo takes back a failed deploy: a new app goes entirely; a redeploy returns to prev.
func (d *daemon) undo(app scheduler.App, prev *scheduler.App, cleanup func()) {
	if prev == nil {
		ctx, cancel := context.WithTimeout(context.Background(), d.o.stopGrace+10*time.Second)
		_ = d.sched.Remove(ctx, app.ID, true)
		cancel()
		_ = d.store.Delete(app.ID)
		cleanup()
		return
	}
	_ = d.store.Put(*prev)
	_ = d.sched.Run(*prev)
	cleanup()
}
