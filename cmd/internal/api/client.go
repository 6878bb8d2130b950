package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
)

// ErrDaemonDown is returned when nothing answers on the socket.
var ErrDaemonDown = errors.New("fnrund is not running")

// Client talks to fnrund over its Unix socket.
type Client struct {
	Socket string
	http   *http.Client
}

// NewClient returns a client of the daemon at socket.
func NewClient(socket string) *Client {
	return &Client{
		Socket: socket,
		http: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			},
		}},
	}
}

func (c *Client) do(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EACCES):
			return nil, fmt.Errorf("connect to fnrund at %s: permission denied (join the fnrun group or use sudo)", c.Socket)
		case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED):
			return nil, fmt.Errorf("connect to fnrund at %s: %w (start it with: sudo fnrund)", c.Socket, ErrDaemonDown)
		}
		return nil, fmt.Errorf("connect to fnrund at %s: %w", c.Socket, err)
	}
	return resp, nil
}

// send builds and sends one API request.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://fnrund"+path, body)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return c.do(req)
}

func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	resp, err := c.send(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp, out)
}

func decode(resp *http.Response, out any) error {
	if resp.StatusCode >= 300 {
		var e Error
		if json.NewDecoder(resp.Body).Decode(&e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("fnrund answered %s", resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Info returns the daemon's description.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var i Info
	err := c.getJSON(ctx, "/v1/info", &i)
	return i, err
}

// List returns every app.
func (c *Client) List(ctx context.Context) ([]App, error) {
	var apps []App
	err := c.getJSON(ctx, "/v1/apps", &apps)
	return apps, err
}

// Status returns one app; withSpec adds each replica's OCI spec.
func (c *Client) Status(ctx context.Context, id string, withSpec bool) (App, error) {
	var a App
	p := "/v1/apps/" + url.PathEscape(id)
	if withSpec {
		p += "?spec=1"
	}
	err := c.getJSON(ctx, p, &a)
	return a, err
}

// Remove stops and deletes an app.
func (c *Client) Remove(ctx context.Context, id string) error {
	resp, err := c.send(ctx, http.MethodDelete, "/v1/apps/"+url.PathEscape(id), nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp, nil)
}

// DeployRequest is what a deploy sends besides the code.
type DeployRequest struct {
	Name, AppID, Entrypoint string
	// ManifestName and Manifest carry a --config file; empty means the daemon reads the
	// manifest from the uploaded directory.
	ManifestName string
	Manifest     []byte
}

// Deploy uploads the tar stream code and calls progress for each progress line; it returns
// the deployed app, or an error with the replica's last log lines.
func (c *Client) Deploy(ctx context.Context, dr DeployRequest, code io.Reader, progress func(string)) (*App, []string, error) {
	q := url.Values{}
	q.Set("name", dr.Name)
	q.Set("app_id", dr.AppID)
	q.Set("entrypoint", dr.Entrypoint)
	h := http.Header{}
	h.Set("Content-Type", "application/x-tar")
	if dr.ManifestName != "" {
		h.Set(HeaderManifestName, dr.ManifestName)
		h.Set(HeaderManifest, encodeManifest(dr.Manifest))
	}
	resp, err := c.send(ctx, http.MethodPost, "/v1/deploy?"+q.Encode(), code, h)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return nil, nil, decode(resp, nil)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var ev DeployEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, nil, fmt.Errorf("decode deploy answer: %w", err)
		}
		switch {
		case ev.Error != "":
			return nil, ev.Logs, errors.New(ev.Error)
		case ev.App != nil:
			return ev.App, nil, nil
		case ev.Progress != "" && progress != nil:
			progress(ev.Progress)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read deploy answer: %w", err)
	}
	return nil, nil, errors.New("fnrund closed the deploy answer without a result")
}

// Logs streams an app's log lines to w; follow keeps it open for new lines.
func (c *Client) Logs(ctx context.Context, id, replica, since string, follow bool, w io.Writer) error {
	q := url.Values{}
	q.Set("replica", replica)
	q.Set("since", since)
	if follow {
		q.Set("follow", "1")
	}
	resp, err := c.send(ctx, http.MethodGet, "/v1/apps/"+url.PathEscape(id)+"/logs?"+q.Encode(), nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return decode(resp, nil)
	}
	_, err = io.Copy(w, resp.Body)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
