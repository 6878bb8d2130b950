package router

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"strconv"
	"time"
)

// The net/http path: every request to an app that speaks h2c goes through net/http's
// ReverseProxy (streaming both ways, trailers, gRPC). Routing, the activator, balancing,
// retries, timeouts, drain and counters are the same as on the fasthttp path.

var discardLog = log.New(io.Discard, "", 0)

// serveHTTP is the handler of the h2c server: route by :authority, then proxy.
func (r *Router) serveHTTP(w http.ResponseWriter, req *http.Request) {
	a := r.lookup([]byte(req.Host))
	if a == nil {
		writeHTTPJSON(w, http.StatusNotFound, bodyNotFound)
		return
	}
	if !a.h2c() {
		r.forwardH2(w, req, a) // to an HTTP/1.1 app: the fast path's exchange
		return
	}
	r.proxyHTTP(w, req, a, time.Now())
}

// proxyHTTP proxies one request to a ready backend of a and does its accounting. start is when
// the request arrived (its timeout counts from there).
func (r *Router) proxyHTTP(w http.ResponseWriter, req *http.Request, a *app, start time.Time) {
	deadline := start.Add(a.timeoutDur())
	a.stats.inflight.Add(1)
	rec := &statusWriter{ResponseWriter: w}
	defer func() { a.finish(rec.status, start) }() // also when ReverseProxy aborts a broken stream

	if limit := int64(r.cfg.MaxBodyBytes); limit > 0 {
		if req.ContentLength > limit {
			writeHTTPJSON(rec, http.StatusRequestEntityTooLarge, bodyTooLarge)
			return
		}
		req.Body = http.MaxBytesReader(rec, req.Body, limit)
	}
	b := r.acquire(a, deadline)
	if b == nil {
		writeHTTPAppError(rec, http.StatusServiceUnavailable, "no ready replica", a.id, nil)
		return
	}
	rt := &retryTransport{r: r, a: a, b: b, h2c: a.h2c()}
	defer func() { rt.b.release() }()

	ctx, cancel := context.WithDeadline(req.Context(), deadline)
	defer cancel()
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = rt.b.addr
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			if pr.Out.Header.Get("X-Request-Id") == "" {
				var buf [64]byte
				pr.Out.Header.Set("X-Request-Id", string(r.appendRequestID(buf[:0])))
			}
		},
		Transport:     rt,
		FlushInterval: -1, // every write goes out at once: SSE, gRPC streams
		ErrorLog:      discardLog,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				writeHTTPJSON(w, http.StatusRequestEntityTooLarge, bodyTooLarge)
			case !time.Now().Before(deadline) || errors.Is(err, context.DeadlineExceeded):
				writeHTTPAppError(w, http.StatusGatewayTimeout, "upstream timed out", a.id, func(b []byte) []byte {
					b = append(b, `,"timeout_seconds":`...)
					return strconv.AppendFloat(b, a.timeoutDur().Seconds(), 'f', -1, 64)
				})
			default:
				writeHTTPAppError(w, http.StatusBadGateway, "bad gateway", a.id, nil)
			}
		},
	}
	rp.ServeHTTP(rec, req.WithContext(ctx))
}

// retryTransport sends a request to its backend and, like the fasthttp path, retries an idempotent
// request once on another backend when the connection could not be made. (net/http's Transport
// itself already resends idempotent requests whose reused connection was found closed.)
type retryTransport struct {
	r   *Router
	a   *app
	b   *backend // the backend holding this request's in-flight count
	h2c bool
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.b.httpTransport(&t.r.cfg, t.h2c).RoundTrip(req)
	var de *dialError
	if err == nil || !errors.As(err, &de) || !isIdempotentHTTP(req) || req.Context().Err() != nil {
		return resp, err
	}
	next := t.a.pick(t.r.policy, t.b, false)
	if next == nil {
		return nil, err
	}
	t.b.release()
	t.b = next
	retry := req.Clone(req.Context())
	retry.URL.Host = next.addr
	return next.httpTransport(&t.r.cfg, t.h2c).RoundTrip(retry)
}

func isIdempotentHTTP(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return req.Body == nil || req.Body == http.NoBody
	}
	return req.Header.Get("Idempotency-Key") != "" && (req.Body == nil || req.Body == http.NoBody)
}

// statusWriter remembers the status code sent, for the counters.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach Flush and the deadlines of the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func writeHTTPJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", string(contentTypeJSON))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeHTTPAppError(w http.ResponseWriter, status int, msg, appID string, extra func([]byte) []byte) {
	writeHTTPJSON(w, status, appendAppError(nil, msg, appID, extra))
}
