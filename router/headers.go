package router

import (
	"bytes"
	"net"
	"strconv"

	"github.com/valyala/fasthttp"
)

var (
	hdrXForwardedFor   = []byte("X-Forwarded-For")
	hdrXForwardedProto = []byte("X-Forwarded-Proto")
	hdrXForwardedHost  = []byte("X-Forwarded-Host")
	hdrXRequestID      = []byte("X-Request-Id")
	valHTTP            = []byte("http")
	valHTTPS           = []byte("https")
)

// hopHeaders are the hop-by-hop headers a proxy must not forward (RFC 9110 §7.6.1). fasthttp itself
// owns message framing (Transfer-Encoding, Trailer) and the Connection close flag.
var hopHeaders = [...]string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Upgrade"}

// hopEditor is what removing hop-by-hop headers needs of fasthttp's request and response headers.
type hopEditor interface {
	Peek(key string) []byte
	Del(key string)
	DelBytes(key []byte)
}

// stripRequestHop and stripResponseHop remove hop-by-hop headers; the common case (none present)
// is one allocation-free scan over concrete types.
func stripRequestHop(h *fasthttp.RequestHeader, keepUpgrade bool) {
	found := false
	for k := range h.All() {
		if found = isHopHeader(k); found {
			break
		}
	}
	if found {
		removeHop(h, keepUpgrade)
	}
}

func stripResponseHop(h *fasthttp.ResponseHeader) {
	found := false
	for k := range h.All() {
		if found = isHopHeader(k); found {
			break
		}
	}
	if found {
		removeHop(h, false)
	}
}

// removeHop deletes the hop-by-hop headers and those the Connection header names. keepUpgrade keeps
// Connection and Upgrade for a protocol switch.
func removeHop(h hopEditor, keepUpgrade bool) {
	if !keepUpgrade {
		conn := h.Peek("Connection")
		for len(conn) > 0 {
			var tok []byte
			tok, conn, _ = bytes.Cut(conn, []byte{','})
			if tok = bytes.TrimSpace(tok); len(tok) > 0 && !bytes.EqualFold(tok, []byte("close")) {
				h.DelBytes(bytes.Clone(tok)) // the value is overwritten by deletes
			}
		}
	}
	for _, k := range hopHeaders {
		if keepUpgrade && (k == "Connection" || k == "Upgrade") {
			continue
		}
		h.Del(k)
	}
}

func isHopHeader(k []byte) bool {
	for _, h := range hopHeaders {
		if len(k) == len(h) && bytes.EqualFold(k, []byte(h)) {
			return true
		}
	}
	return false
}

// prepareRequest rewrites the client's request for the backend: hop-by-hop headers out,
// X-Forwarded-* and X-Request-Id in, and a keep-alive HTTP/1.1 request line.
func (r *Router) prepareRequest(ctx *fasthttp.RequestCtx, upgrade bool) {
	ctx.Request.URI().DisablePathNormalizing = true // forward the path exactly as received
	h := &ctx.Request.Header
	h.ResetConnectionClose()
	stripRequestHop(h, upgrade)
	if !h.IsHTTP11() {
		h.SetProtocol("HTTP/1.1")
	}

	var buf [128]byte
	v := buf[:0]
	if prior := h.PeekBytes(hdrXForwardedFor); len(prior) > 0 {
		v = append(v, prior...)
		v = append(v, ", "...)
	}
	v = appendRemoteIP(v, ctx.RemoteAddr())
	h.SetCanonical(hdrXForwardedFor, v)
	if ctx.IsTLS() {
		h.SetCanonical(hdrXForwardedProto, valHTTPS)
	} else {
		h.SetCanonical(hdrXForwardedProto, valHTTP)
	}
	h.SetCanonical(hdrXForwardedHost, ctx.Host())
	if len(h.PeekBytes(hdrXRequestID)) == 0 {
		h.SetCanonical(hdrXRequestID, r.appendRequestID(buf[:0]))
	}
}

func appendRemoteIP(dst []byte, addr net.Addr) []byte {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap().AppendTo(dst)
	}
	if addr == nil {
		return append(dst, "unknown"...)
	}
	return append(dst, addr.String()...)
}

// appendRequestID appends a fresh request id: a random per-process prefix and a counter.
func (r *Router) appendRequestID(dst []byte) []byte {
	dst = append(dst, r.reqIDPrefix[:]...)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, r.reqIDSeq.Add(1), 16)
}

// isIdempotent reports whether a failed request may be sent again: GET, HEAD, OPTIONS, or any
// request carrying an Idempotency-Key.
func isIdempotent(h *fasthttp.RequestHeader) bool {
	return h.IsGet() || h.IsHead() || h.IsOptions() || len(h.Peek("Idempotency-Key")) > 0
}

// isUpgrade reports a protocol-switch request (WebSocket, h2c upgrade, ...).
func isUpgrade(h *fasthttp.RequestHeader) bool {
	return h.ConnectionUpgrade() && len(h.Peek("Upgrade")) > 0
}
