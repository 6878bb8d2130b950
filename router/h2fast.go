package router

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// An h2c client's request to an HTTP/1.1 app takes the fast path's exchange: the request is
// copied into a fasthttp request, forwarded over the backend's fasthttp pool (no net/http
// Transport, no ReverseProxy: half the CPU per request), and the response copied back.

var h2ctxPool = sync.Pool{New: func() any { return new(fasthttp.RequestCtx) }}

// forwardH2 proxies req (from an h2c client) to app a, which speaks HTTP/1.1.
func (r *Router) forwardH2(w http.ResponseWriter, req *http.Request, a *app) {
	ctx := h2ctxPool.Get().(*fasthttp.RequestCtx)
	defer func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		h2ctxPool.Put(ctx)
	}()
	ctx.Init2(&streamConn{remote: remoteTCPAddr(req.RemoteAddr)}, discardLogger{}, false)
	limit := r.cfg.MaxBodyBytes
	copyRequest(&ctx.Request, req, limit == 0)
	if limit > 0 && !bufferBody(&ctx.Request, req, limit) {
		writeHTTPJSON(w, http.StatusRequestEntityTooLarge, bodyTooLarge) // as the fast path's 413
		return
	}

	start := ctx.Time()
	deadline := start.Add(a.timeoutDur())
	a.stats.inflight.Add(1)
	status := r.forward(ctx, a, deadline)
	if status != 0 {
		defer a.finish(status, start)
	} else { // a streamed body: its CloseWithError finishes the accounting
		_ = http.NewResponseController(w).SetWriteDeadline(deadline)
	}
	writeResponse(w, &ctx.Response)
}

// bufferBody reads src's body into dst when it is at most limit bytes (then true): with a body
// limit the fast path buffers bodies too.
func bufferBody(dst *fasthttp.Request, src *http.Request, limit int) bool {
	if src.ContentLength > int64(limit) {
		return false
	}
	if src.Body == nil || src.Body == http.NoBody {
		return true
	}
	b, err := io.ReadAll(io.LimitReader(src.Body, int64(limit)+1))
	if err != nil || len(b) > limit {
		return false
	}
	dst.SetBody(b)
	return true
}

// copyRequest fills dst, a fasthttp request, from an HTTP/2 request: pseudo-headers become the
// request line and Host, and with streamBody the body streams.
func copyRequest(dst *fasthttp.Request, src *http.Request, streamBody bool) {
	dst.Header.SetMethod(src.Method)
	dst.SetRequestURI(src.URL.RequestURI())
	dst.Header.SetHost(src.Host)
	for k, vs := range src.Header {
		for _, v := range vs {
			dst.Header.Add(k, v)
		}
	}
	if streamBody && src.Body != nil && src.Body != http.NoBody && src.ContentLength != 0 {
		dst.SetBodyStream(src.Body, int(src.ContentLength)) // -1: chunked to the backend
	}
}

// writeResponse sends a fasthttp response (the backend's, or the router's own error) to an
// HTTP/2 client, streaming a streamed body with a flush per read (SSE, chunked).
func writeResponse(w http.ResponseWriter, resp *fasthttp.Response) {
	h := w.Header()
	for k, v := range resp.Header.All() {
		if isH2Forbidden(k) {
			continue
		}
		h.Add(string(k), string(v))
	}
	w.WriteHeader(resp.StatusCode())
	if !resp.IsBodyStream() {
		if !resp.SkipBody {
			_, _ = w.Write(resp.Body())
		}
		return
	}
	src := resp.BodyStream()
	err := copyFlushing(w, src)
	if c, ok := src.(fasthttp.ReadCloserWithError); ok {
		_ = c.CloseWithError(err) // returns the backend connection (or closes it) and ends the accounting
	}
}

// copyFlushing copies src to w, flushing after every read so events reach the client at once.
func copyFlushing(w http.ResponseWriter, src io.Reader) error {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if ferr := rc.Flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// isH2Forbidden reports connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2), and
// Trailer (trailers of an HTTP/1.1 backend are not passed on).
func isH2Forbidden(k []byte) bool {
	for _, f := range [...]string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Trailer"} {
		if bytes.EqualFold(k, []byte(f)) {
			return true
		}
	}
	return false
}

func remoteTCPAddr(s string) net.Addr {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return &net.TCPAddr{}
	}
	return net.TCPAddrFromAddrPort(ap)
}

// streamConn stands for an HTTP/2 stream where fasthttp expects a connection: it only knows
// the client's address (for X-Forwarded-For); deadlines are the stream's, set by forwardH2.
type streamConn struct {
	remote net.Addr
}

var errStreamConn = errors.New("an HTTP/2 stream has no connection to read or write")

func (c *streamConn) Read([]byte) (int, error)         { return 0, errStreamConn }
func (c *streamConn) Write([]byte) (int, error)        { return 0, errStreamConn }
func (c *streamConn) Close() error                     { return nil }
func (c *streamConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *streamConn) RemoteAddr() net.Addr             { return c.remote }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }
