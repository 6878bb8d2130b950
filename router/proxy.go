package router

import (
	"errors"
	"net"
	"os"
	"time"

	"github.com/valyala/fasthttp"
)

// maxBufferedBody is the largest response body (with a Content-Length) read in one piece before
// answering; larger, chunked and close-delimited bodies stream through.
const maxBufferedBody = 64 << 10

// handle is the fasthttp handler: route by Host, then proxy or tunnel.
func (r *Router) handle(ctx *fasthttp.RequestCtx) {
	a := r.lookup(ctx.Host())
	if a == nil {
		writeJSON(ctx, fasthttp.StatusNotFound, bodyNotFound)
		return
	}
	if a.h2c() {
		r.h1toH2(ctx) // an HTTP/1.x client of an h2c app: net/http speaks h2c to the replica
		return
	}
	start := ctx.Time()
	deadline := start.Add(a.timeoutDur())
	clientClose := ctx.Request.Header.ConnectionClose()
	a.stats.inflight.Add(1)
	if isUpgrade(&ctx.Request.Header) {
		r.tunnel(ctx, a, start, deadline)
		return
	}
	if status := r.forward(ctx, a, deadline); status != 0 {
		a.finish(status, start)
	}
	if clientClose {
		ctx.Response.SetConnectionClose()
	}
}

// finish ends the accounting of one request of a.
func (a *app) finish(status int, start time.Time) {
	a.stats.inflight.Add(-1)
	a.stats.observe(status, time.Since(start))
}

// acquire returns a ready backend of a, queueing in the activator while there is none.
func (r *Router) acquire(a *app, deadline time.Time) *backend {
	for {
		if b := a.pick(r.policy, nil, false); b != nil {
			return b
		}
		if a.await(deadline, r.cfg.QueueSize, r.closing, r.cfg.Activate) != waitReady {
			return nil
		}
	}
}

// forward proxies one request and returns its status, or 0 when a streamed body took over the
// accounting (it finishes once the body is written).
func (r *Router) forward(ctx *fasthttp.RequestCtx, a *app, deadline time.Time) int {
	req := &ctx.Request
	r.prepareRequest(ctx, false)
	b := r.acquire(a, deadline)
	if b == nil {
		return writeNoReplica(ctx, a.id)
	}
	for attempt := 0; ; attempt++ {
		body, err := b.exchange(req, &ctx.Response, deadline)
		if err == nil {
			return r.respond(ctx, a, b, body, deadline)
		}
		b.release()
		if isTimeout(err, deadline) {
			return writeGatewayTimeout(ctx, a.id, a.timeoutDur())
		}
		if attempt > 0 || !canRetry(req, err) {
			break
		}
		var de *dialError
		if b = a.pick(r.policy, b, !errors.As(err, &de)); b == nil {
			break
		}
	}
	return writeBadGateway(ctx, a.id)
}

// canRetry allows one more attempt only for idempotent requests (GET, HEAD, OPTIONS or with an
// Idempotency-Key) whose failure happened before the backend could act on them: the dial failed,
// or the connection was closed/reset before any response byte (as nginx's proxy_next_upstream error).
func canRetry(req *fasthttp.Request, err error) bool {
	if !isIdempotent(&req.Header) {
		return false
	}
	var de *dialError
	if errors.As(err, &de) {
		return true
	}
	var ue *upstreamError
	return errors.As(err, &ue) && ue.stale && !req.IsBodyStream()
}

// isTimeout reports whether err means the request's deadline passed (→ 504).
func isTimeout(err error, deadline time.Time) bool {
	if !time.Now().Before(deadline) {
		return true
	}
	var de *dialError
	if errors.As(err, &de) {
		return false // the connect timeout, not the request's: retry or 502
	}
	return errors.Is(err, fasthttp.ErrTimeout) || isNetTimeout(err)
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// respond finishes the client's response after a successful exchange: hop-by-hop headers out, and
// for a streamed body the accounting is handed to the stream.
func (r *Router) respond(ctx *fasthttp.RequestCtx, a *app, b *backend, body *streamBody, deadline time.Time) int {
	resp := &ctx.Response
	stripResponseHop(&resp.Header)
	status := resp.StatusCode()
	if body == nil {
		b.release()
		return status
	}
	body.a, body.b, body.start, body.status = a, b, ctx.Time(), status
	cl := resp.Header.ContentLength()
	if cl < 0 {
		cl = -1
		resp.ImmediateHeaderFlush = true // chunked/SSE: the client sees headers before the first event
	}
	// A client that stops reading must not hold the backend past the request's deadline.
	_ = ctx.SetWriteDeadline(deadline)
	resp.SetBodyStream(body, cl)
	return 0
}
