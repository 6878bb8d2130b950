package integration

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// h2cClient speaks HTTP/2 with prior knowledge only, as gRPC clients do on plain TCP.
func h2cClient(t *testing.T) *http.Client {
	t.Helper()
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: time.Minute, Transport: tr}
}

// getVia sends GET / for app id through the router with c and returns the status, the protocol
// the client got, the protocol the replica served and the body.
func (d *daemon) getVia(c *http.Client, id string) (status int, clientProto, replicaProto, body string) {
	d.t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+d.router+"/", nil)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Host = id + ".localhost"
	resp, err := c.Do(req)
	if err != nil {
		d.t.Fatalf("GET %s: %v", req.Host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatalf("read %s: %v", req.Host, err)
	}
	return resp.StatusCode, resp.Proto, resp.Header.Get("X-Served-Proto"), string(b)
}

// An app that serves only h2c (like a gRPC server) declares protocol: h2c; clients reach it with
// h2c or HTTP/1.1, and an HTTP/1.1 app is reachable with h2c too.
func TestH2C(t *testing.T) {
	needRoot(t)
	d := startDaemon(t)
	h2app := d.deploy(spinApp(t, "instance: C1\nprotocol: h2c\nenv: {SPIN_H2C: \"1\"}\ncommand: [./spinserver]\n"))
	h1app := d.deploy(spinApp(t, "instance: C1\ncommand: [./spinserver]\n"))
	h2c := h2cClient(t)

	for _, tc := range []struct {
		name, app           string
		client              *http.Client
		wantClient, wantApp string
	}{
		{"h2c client, h2c app", h2app.ID, h2c, "HTTP/2.0", "HTTP/2.0"},
		{"HTTP/1.1 client, h2c app", h2app.ID, client, "HTTP/1.1", "HTTP/2.0"},
		{"h2c client, HTTP/1.1 app", h1app.ID, h2c, "HTTP/2.0", "HTTP/1.1"},
	} {
		var status int
		var gotClient, gotApp, body string
		eventually(t, 30*time.Second, tc.name+" answers", func() bool {
			status, gotClient, gotApp, body = d.getVia(tc.client, tc.app)
			return status == http.StatusOK
		})
		if gotClient != tc.wantClient || gotApp != tc.wantApp || !strings.Contains(body, `"hostname"`) {
			t.Errorf("%s: client got %s, replica served %s, body %q; want %s and %s", tc.name, gotClient, gotApp, body, tc.wantClient, tc.wantApp)
		}
	}
	out := d.mustFnrun("", "status", h2app.ID)
	if !strings.Contains(out, "h2c") {
		t.Errorf("fnrun status does not show protocol h2c:\n%s", out)
	}
}
