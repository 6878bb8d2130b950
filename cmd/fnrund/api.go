package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/fnrun/fnrun/cmd/internal/api"
	"github.com/fnrun/fnrun/runtime"
	"github.com/fnrun/fnrun/sandbox"
	"github.com/fnrun/fnrun/scheduler"
)

// daemon holds the wired parts the API handlers use.
type daemon struct {
	o          options
	log        *logrus.Logger
	store      *scheduler.Store
	sched      *scheduler.Scheduler
	sandbox    *sandbox.Manager
	routerAddr string
}

func (d *daemon) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/info", d.info)
	mux.HandleFunc("GET /v1/apps", d.list)
	mux.HandleFunc("GET /v1/apps/{id}", d.get)
	mux.HandleFunc("DELETE /v1/apps/{id}", d.remove)
	mux.HandleFunc("GET /v1/apps/{id}/logs", d.logs)
	mux.HandleFunc("POST /v1/deploy", d.deploy)
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, api.Error{Error: err.Error()})
}

func (d *daemon) info(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.Info{
		RouterAddr: d.routerAddr,
		Domain:     d.o.domain,
		CgroupMode: string(d.sandbox.Mode()),
		CgroupRoot: d.sandbox.Root(),
		StateDir:   d.o.stateDir,
		AdminAddr:  d.o.adminListen,
	})
}

// endpoint is the app's URL through the router.
func (d *daemon) endpoint(id string) string {
	port := d.routerAddr[strings.LastIndex(d.routerAddr, ":")+1:]
	return "http://" + id + "." + d.o.domain + ":" + port
}

func (d *daemon) apiApp(st scheduler.AppStatus) api.App {
	inst := st.Manifest.InstanceType()
	return api.App{
		AppStatus:      st,
		Endpoint:       d.endpoint(st.ID),
		CreditsPerHour: inst.Credits * float64(max(st.Manifest.Autoscale.Min, 1)),
	}
}

func (d *daemon) list(w http.ResponseWriter, r *http.Request) {
	apps := []api.App{}
	for _, st := range d.sched.List() {
		apps = append(apps, d.apiApp(st))
	}
	writeJSON(w, http.StatusOK, apps)
}

func (d *daemon) get(w http.ResponseWriter, r *http.Request) {
	st, err := d.sched.Status(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	a := d.apiApp(st)
	if r.URL.Query().Get("spec") != "" {
		a.Specs = map[string]*specs.Spec{}
		for _, h := range st.Replicas {
			if sp := d.sched.ReplicaSpec(st.ID, h.Hostname); sp != nil {
				a.Specs[h.Hostname] = sp
			}
		}
	}
	writeJSON(w, http.StatusOK, a)
}

func (d *daemon) remove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx, cancel := context.WithTimeout(context.Background(), d.o.stopGrace+10e9)
	defer cancel()
	if err := d.sched.Remove(ctx, id, true); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, scheduler.ErrNotFound) {
			code = http.StatusNotFound
		}
		writeError(w, code, err)
		return
	}
	d.log.WithField("app", id).Info("removed app")
	writeJSON(w, http.StatusOK, map[string]string{"removed": id})
}

// manifestFor returns the manifest of a deploy: the --config bytes when sent, else the file
// in the uploaded directory, else defaults.
func manifestFor(r *http.Request, codeDir string) (*runtime.Manifest, string, error) {
	if name := r.Header.Get(api.HeaderManifestName); name != "" {
		data, err := api.DecodeManifest(r.Header.Get(api.HeaderManifest))
		if err != nil {
			return nil, "", errors.New("manifest header is not base64")
		}
		m, err := runtime.ParseManifest(name, data)
		return m, name, err
	}
	return runtime.LoadManifest(codeDir, "")
}
