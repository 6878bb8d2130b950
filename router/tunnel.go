package router

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// tunnel passes a protocol switch (WebSocket, h2c upgrade) through: it sends the handshake to a
// backend, reads the status line, then hijacks the client connection and splices the two.
// The request stays in flight (for Drain and Shutdown) until either side closes.
func (r *Router) tunnel(ctx *fasthttp.RequestCtx, a *app, start, deadline time.Time) {
	r.prepareRequest(ctx, true)
	b := r.acquire(a, deadline)
	if b == nil {
		a.finish(writeNoReplica(ctx, a.id), start)
		return
	}
	conn, err := r.dialBackend(b.addr, deadline)
	if err != nil && isIdempotent(&ctx.Request.Header) {
		b.release()
		if b = a.pick(r.policy, b, false); b != nil {
			conn, err = r.dialBackend(b.addr, deadline)
		}
	}
	if err != nil {
		if b != nil {
			b.release()
		}
		a.finish(r.tunnelError(ctx, a, err, deadline), start)
		return
	}

	line, pending, err := handshake(conn, &ctx.Request, deadline)
	if err != nil {
		_ = conn.Close()
		b.release()
		a.finish(r.tunnelError(ctx, a, err, deadline), start)
		return
	}
	a.stats.observe(parseStatusLine(line), time.Since(start))

	t := r.tunnels.add(conn)
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		defer func() {
			b.release()
			a.stats.inflight.Add(-1)
			r.tunnels.remove(t)
		}()
		t.setClient(c)
		_ = c.SetDeadline(time.Time{})
		if _, err := c.Write(pending); err != nil {
			_ = conn.Close()
			_ = c.Close()
			return
		}
		splice(c, conn)
	})
}

func (r *Router) tunnelError(ctx *fasthttp.RequestCtx, a *app, err error, deadline time.Time) int {
	if isTimeout(err, deadline) {
		return writeGatewayTimeout(ctx, a.id, a.timeoutDur())
	}
	return writeBadGateway(ctx, a.id)
}

func (r *Router) dialBackend(addr string, deadline time.Time) (net.Conn, error) {
	timeout := min(time.Until(deadline), r.cfg.ConnectTimeout)
	if timeout <= 0 {
		return nil, fasthttp.ErrTimeout
	}
	c, err := r.cfg.dial(addr, timeout)
	if err != nil {
		return nil, &dialError{err: err}
	}
	return c, nil
}

// handshake writes the upgrade request to conn and reads the backend's status line. It returns the
// line and every byte read so far (line included), which the client must receive first.
func handshake(conn net.Conn, req *fasthttp.Request, deadline time.Time) (line, pending []byte, err error) {
	if err = conn.SetDeadline(deadline); err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriter(conn)
	if err = req.Header.Write(bw); err == nil {
		if body := req.Body(); len(body) > 0 {
			_, err = bw.Write(body)
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReader(conn)
	line, err = br.ReadSlice('\n')
	if err != nil {
		return nil, nil, err
	}
	if err = conn.SetDeadline(time.Time{}); err != nil {
		return nil, nil, err
	}
	rest, _ := br.Peek(br.Buffered())
	pending = make([]byte, 0, len(line)+len(rest))
	pending = append(pending, line...)
	pending = append(pending, rest...)
	return pending[:len(line)], pending, nil
}

// parseStatusLine extracts the code of "HTTP/1.1 101 Switching Protocols"; 0 if malformed.
func parseStatusLine(line []byte) int {
	_, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(rest) < 3 {
		return 0
	}
	code, err := strconv.Atoi(string(rest[:3]))
	if err != nil {
		return 0
	}
	return code
}

// splice copies both ways until either side ends, then closes both.
func splice(client, backend net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(backend, client)
		_ = backend.Close()
		_ = client.Close()
	}()
	_, _ = io.Copy(client, backend)
	_ = client.Close()
	_ = backend.Close()
	<-done
}

// tunnelSet tracks open tunnels so that Shutdown can wait for them and close the stragglers.
type tunnelSet struct {
	mu   sync.Mutex
	open map[*tunnelConns]struct{}
	wg   sync.WaitGroup
}

type tunnelConns struct {
	mu      sync.Mutex
	backend net.Conn
	client  net.Conn
}

func (t *tunnelConns) setClient(c net.Conn) {
	t.mu.Lock()
	t.client = c
	t.mu.Unlock()
}

func (t *tunnelConns) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = t.backend.Close()
	if t.client != nil {
		_ = t.client.Close()
	}
}

func (s *tunnelSet) add(backend net.Conn) *tunnelConns {
	t := &tunnelConns{backend: backend}
	s.mu.Lock()
	if s.open == nil {
		s.open = map[*tunnelConns]struct{}{}
	}
	s.open[t] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	return t
}

func (s *tunnelSet) remove(t *tunnelConns) {
	s.mu.Lock()
	delete(s.open, t)
	s.mu.Unlock()
	s.wg.Done()
}

// wait returns when no tunnel is open; when ctx ends first it closes them all and returns ctx's error.
func (s *tunnelSet) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for t := range s.open {
		t.close()
	}
	s.mu.Unlock()
	return ctx.Err()
}
