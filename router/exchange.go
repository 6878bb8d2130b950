package router

import (
	"errors"
	"io"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// upstreamError is a failed exchange with a backend, classified for the retry decision.
type upstreamError struct {
	err error
	// stale: a reused keep-alive connection was found closed or reset before any response byte.
	stale bool
}

func (e *upstreamError) Error() string { return "backend exchange: " + e.err.Error() }
func (e *upstreamError) Unwrap() error { return e.err }

// exchange sends req to b over a pooled keep-alive connection and reads the response header into
// resp. Small bodies with a Content-Length are read into resp too and the connection goes back to
// the pool; any other body is returned as a stream that owns the connection until closed.
// Retry-relevant failures come back as *dialError (nothing sent) or *upstreamError.
func (b *backend) exchange(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) (*streamBody, error) {
	hc := b.client
	timeout := time.Until(deadline)
	if timeout <= 0 {
		return nil, fasthttp.ErrTimeout
	}
	cc, err := hc.AcquireConn(timeout, false)
	if err != nil {
		return nil, err
	}
	reused := !cc.LastUseTime().IsZero()
	conn := cc.Conn()

	// A body-less request fits the socket buffer of an idle connection: only bodies need a write deadline.
	hasBody := req.Header.ContentLength() != 0 && req.Header.ContentLength() != -2
	if hasBody {
		if err = conn.SetWriteDeadline(deadline); err != nil {
			hc.CloseConn(cc)
			return nil, &upstreamError{err: err, stale: reused}
		}
	}
	bw := hc.AcquireWriter(conn)
	err = req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	hc.ReleaseWriter(bw)
	if err == nil && hasBody {
		err = conn.SetWriteDeadline(time.Time{})
	}
	if err == nil {
		err = conn.SetReadDeadline(deadline)
	}
	if err != nil {
		hc.CloseConn(cc)
		return nil, &upstreamError{err: err, stale: reused && !req.IsBodyStream()}
	}

	br := hc.AcquireReader(conn)
	for {
		err = resp.Header.Read(br)
		if st := resp.StatusCode(); err != nil || st >= 200 || st == fasthttp.StatusSwitchingProtocols {
			break // interim 1xx responses (100 Continue, 103 Early Hints) are dropped
		}
	}
	if err != nil {
		hc.ReleaseReader(br)
		hc.CloseConn(cc)
		// No response byte came back: like nginx's proxy_next_upstream error, an idempotent request
		// may go to another replica (a replica killed mid-request must not fail a GET).
		return nil, &upstreamError{err: err, stale: closedBeforeResponse(err)}
	}
	status := resp.StatusCode()
	// A switched protocol (101 to a plain request) leaves the connection unusable for HTTP.
	closeConn := resp.Header.ConnectionClose() || status == fasthttp.StatusSwitchingProtocols
	resp.Header.ResetConnectionClose() // the backend's connection policy is not the client's
	cl := resp.Header.ContentLength()

	switch {
	case req.Header.IsHead() || status < 200 || status == fasthttp.StatusNoContent || status == fasthttp.StatusNotModified:
		resp.SkipBody = true
		err = nil
	case cl >= 0 && cl <= maxBufferedBody:
		err = resp.ReadBody(br, 0)
	default:
		up := fasthttp.AcquireResponse()
		up.StreamBody = true
		up.Header.SetContentLength(cl)
		if err = up.ReadBody(br, 0); err != nil {
			fasthttp.ReleaseResponse(up)
			hc.ReleaseReader(br)
			hc.CloseConn(cc)
			return nil, &upstreamError{err: err}
		}
		closeConn = closeConn || cl == -2 // a body delimited by the connection's end
		return &streamBody{up: up, src: up.BodyStream(), release: func(reuse bool) {
			hc.ReleaseReader(br)
			if reuse && !closeConn {
				hc.ReleaseConn(cc)
			} else {
				hc.CloseConn(cc)
			}
		}}, nil
	}
	hc.ReleaseReader(br)
	if err != nil || closeConn {
		hc.CloseConn(cc)
	} else {
		hc.ReleaseConn(cc)
	}
	if err != nil {
		return nil, &upstreamError{err: err}
	}
	return nil, nil
}

// closedBeforeResponse reports a connection that ended before its first response byte.
func closedBeforeResponse(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// streamBody hands a backend's streamed body (chunked, SSE, large or close-delimited) to the client
// connection. fasthttp closes it after the last byte, or on error; that ends the request's
// accounting and returns the connection to the pool only if the body was read to its end.
type streamBody struct {
	up      *fasthttp.Response // owns the framing decoder
	src     io.Reader
	release func(reuse bool)

	a      *app
	b      *backend
	start  time.Time
	status int
	eof    bool
	closed bool
}

func (s *streamBody) Read(p []byte) (int, error) {
	n, err := s.src.Read(p)
	if err == io.EOF {
		s.eof = true
	}
	return n, err
}

// CloseWithError implements fasthttp.ReadCloserWithError. fasthttp reads and closes a response
// body stream from the connection's own goroutine, so no locking is needed.
func (s *streamBody) CloseWithError(err error) error {
	if s.closed {
		return nil
	}
	s.closed = true
	_ = s.up.CloseBodyStream()
	fasthttp.ReleaseResponse(s.up)
	s.release(s.eof && err == nil)
	if s.b != nil {
		s.b.release()
		s.a.finish(s.status, s.start)
	}
	return nil
}
