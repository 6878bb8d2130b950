package router

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"time"
)

// h2Preface is what every HTTP/2 client sends first (RFC 9113 §3.4). A plain-TCP connection that
// starts with it is h2c with prior knowledge; anything else is HTTP/1.x.
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// sniffBytes is how much a connection's first read may take before it is dispatched; the rest
// stays in the socket for the server that gets the connection.
const sniffBytes = 128

// protoMux splits one listener in two by the first bytes of each connection: HTTP/1.x connections
// go to the fasthttp server (the fast path), h2c prior-knowledge ones to net/http's HTTP/2 server.
// Each connection is sniffed in its own goroutine, so a slow client never holds up Accept.
type protoMux struct {
	ln      net.Listener
	timeout time.Duration // how long a new connection may take to send its first bytes
	h1, h2  *chanListener
	wrapH1  func(net.Conn) net.Conn // applied to HTTP/1.x connections (nil: none)

	once sync.Once
	done chan struct{} // closed by close: both listeners report net.ErrClosed
}

func newProtoMux(ln net.Listener, timeout time.Duration, wrapH1 func(net.Conn) net.Conn) *protoMux {
	m := &protoMux{ln: ln, timeout: timeout, wrapH1: wrapH1, done: make(chan struct{})}
	m.h1 = &chanListener{mux: m, conns: make(chan net.Conn)}
	m.h2 = &chanListener{mux: m, conns: make(chan net.Conn)}
	return m
}

// run accepts connections until the listener fails or close is called.
func (m *protoMux) run() {
	defer m.close()
	var backoff time.Duration
	for {
		c, err := m.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() { // e.g. EMFILE: wait and go on, as net/http does
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(backoff):
					continue
				case <-m.done:
				}
			}
			return
		}
		backoff = 0
		go m.dispatch(c)
	}
}

// dispatch reads the start of c and hands c, with those bytes put back, to the server that speaks
// its protocol. A connection that sends nothing within the timeout is closed.
func (m *protoMux) dispatch(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(m.timeout))
	buf := make([]byte, 0, sniffBytes)
	target := m.h1
	for {
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) >= len(h2Preface) && string(buf[:len(h2Preface)]) == h2Preface {
			target = m.h2
			break
		}
		if !bytes.HasPrefix([]byte(h2Preface), buf) {
			break // not HTTP/2: fasthttp parses (or rejects) it
		}
		if err != nil {
			_ = c.Close()
			return
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	var pc net.Conn = &prefixConn{Conn: c, prefix: buf}
	if target == m.h1 && m.wrapH1 != nil {
		pc = m.wrapH1(pc)
	}
	select {
	case target.conns <- pc: // unbuffered: once sent, a server owns it
	case <-m.done:
		_ = pc.Close()
	}
}

// close stops the mux and its listener; it is safe to call more than once.
func (m *protoMux) close() {
	m.once.Do(func() {
		close(m.done)
		_ = m.ln.Close()
	})
}

// chanListener is one side of a protoMux, as a net.Listener for a server's Serve.
type chanListener struct {
	mux   *protoMux
	conns chan net.Conn
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.mux.done:
		return nil, net.ErrClosed
	}
}

// Close stops the whole mux: both servers stop together.
func (l *chanListener) Close() error {
	l.mux.close()
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.mux.ln.Addr() }

// prefixConn replays the bytes the mux read before handing the connection on.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		if len(c.prefix) == 0 {
			c.prefix = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}
