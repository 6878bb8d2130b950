package admin

import (
	"encoding/json"
	"io/fs"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newHandler returns the admin listener's routes; every one is a read-only GET (HEAD too),
// any other method is answered 405 whatever the path.
func newHandler(apps Apps, stats Stats, sampler *Sampler) http.Handler {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(collector{apps: apps, stats: stats, sampler: sampler})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("GET /api/apps", func(w http.ResponseWriter, r *http.Request) {
		out := []AppSummary{}
		for _, st := range apps.List() {
			out = append(out, summarize(st))
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /api/apps/{id}/history", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		samples, ok := sampler.Samples(id)
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "app " + id + " not found"})
			return
		}
		for _, st := range sampler.Latest() {
			if st.ID == id {
				writeJSON(w, http.StatusOK, buildHistory(st, samples))
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "app " + id + " not found"})
	})
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree always has assets/
	}
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "index.html")
	})
	return readOnly(mux)
}

// readOnly answers 405 to every method but GET and HEAD, and sets headers that keep the
// dashboard to its own origin.
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the admin listener is read-only", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
