package scheduler

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fnrun/fnrun/router"
	"github.com/fnrun/fnrun/runtime"
)

func TestRouteConfig(t *testing.T) {
	for _, tc := range []struct {
		protocol string
		timeout  int
		want     router.AppConfig
	}{
		{"", 120, router.AppConfig{Timeout: 120 * time.Second, Protocol: router.ProtocolHTTP1}},
		{"http1", 5, router.AppConfig{Timeout: 5 * time.Second, Protocol: router.ProtocolHTTP1}},
		{"h2c", 30, router.AppConfig{Timeout: 30 * time.Second, Protocol: router.ProtocolH2C}},
	} {
		m := runtime.Defaults()
		m.Protocol, m.Timeout = tc.protocol, tc.timeout
		if got := routeConfig(m); got != tc.want {
			t.Errorf("protocol %q timeout %d: %+v, want %+v", tc.protocol, tc.timeout, got, tc.want)
		}
	}
}

// An app that serves only h2c passes its HTTP health check only when it is asked in h2c.
func TestProberSpeaksTheAppsProtocol(t *testing.T) {
	h2cOnly := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2cOnly.Config.Protocols = &p
	h2cOnly.Start()
	defer h2cOnly.Close()
	addr := h2cOnly.Listener.Addr().String()

	pr := newProber(nil)
	for _, tc := range []struct {
		path string
		h2c  bool
		want bool
	}{
		{"/healthz", true, true},
		{"/healthz", false, false}, // HTTP/1.1 to an h2c-only server
		{"/missing", true, false},  // 404
		{"", false, true},          // TCP connect
	} {
		if got := pr.healthy(addr, tc.path, tc.h2c); got != tc.want {
			t.Errorf("healthy(%q, h2c=%v) = %v, want %v", tc.path, tc.h2c, got, tc.want)
		}
	}
}
