package router

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Client connections' read deadlines are enforced by one sweeper per router instead of a runtime
// timer per request. fasthttp moves a keep-alive connection's read deadline twice per request
// (idle timeout, then header timeout); each move is a timer-heap update under a lock, and the two
// together cost about 4 % of the router's CPU under load. Here a move is one atomic store; the
// sweeper, every tick, arms a past deadline on connections whose wanted deadline passed, which
// interrupts their blocked read exactly as the runtime timer would have, at most one tick late.

// sweeper watches the lazy deadlines of a set of connections.
type sweeper struct {
	tick time.Duration
	// soon is the coarse clock (Unix ns) plus one tick: a deadline before it is set on the
	// connection at once (a caller may use a past deadline to interrupt a read).
	soon atomic.Int64

	mu    sync.Mutex
	conns map[*lazyConn]struct{}
	stop  chan struct{}
	once  sync.Once
}

// newSweeper returns a sweeper for a tick period; start runs it, close stops it.
func newSweeper(tick time.Duration, now time.Time) *sweeper {
	s := &sweeper{tick: tick, conns: map[*lazyConn]struct{}{}, stop: make(chan struct{})}
	s.soon.Store(now.Add(2 * tick).UnixNano())
	return s
}

func (s *sweeper) start() { go s.run() }

// sweepTick is the sweeper's period for timeouts of at least shortest: a twentieth of it
// (5 % late at most), between 5 ms and 250 ms. With the defaults (10 s header timeout) it is 250 ms.
func sweepTick(shortest time.Duration) time.Duration {
	return min(max(shortest/20, 5*time.Millisecond), 250*time.Millisecond)
}

func (s *sweeper) run() {
	t := time.NewTicker(s.tick)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.sweep(now)
		}
	}
}

// sweep expires every connection whose wanted deadline is before now.
func (s *sweeper) sweep(now time.Time) {
	s.soon.Store(now.Add(2 * s.tick).UnixNano())
	n := now.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.expire(n)
	}
}

func (s *sweeper) close() { s.once.Do(func() { close(s.stop) }) }

// wrap returns c with a lazy read deadline watched by s.
func (s *sweeper) wrap(c net.Conn) *lazyConn {
	lc := &lazyConn{Conn: c, s: s}
	s.mu.Lock()
	s.conns[lc] = struct{}{}
	s.mu.Unlock()
	return lc
}

// lazyConn is a connection whose read deadline is kept as a number and enforced by its sweeper.
type lazyConn struct {
	net.Conn
	s *sweeper

	want  atomic.Int64 // the read deadline asked for, Unix ns; 0: none
	armed atomic.Bool  // the sweeper set a past deadline on Conn
	mu    sync.Mutex   // orders arming (sweeper) with disarming (SetReadDeadline)
	gone  atomic.Bool
}

// SetReadDeadline records t. The connection's real deadline changes only when t is near (within
// two sweeper ticks) or when the sweeper had armed an expired one.
func (c *lazyConn) SetReadDeadline(t time.Time) error {
	var n int64
	if !t.IsZero() {
		n = t.UnixNano()
	}
	c.want.Store(n)
	if n != 0 && n < c.s.soon.Load() {
		return c.setReal(t)
	}
	if c.armed.Load() { // the sweeper set an expired deadline: replace it
		return c.setReal(time.Time{})
	}
	return nil
}

// setReal sets the real read deadline (t zero: none) and clears the armed state.
func (c *lazyConn) setReal(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed.Store(!t.IsZero())
	return c.Conn.SetReadDeadline(t)
}

func (c *lazyConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// expire arms the real deadline when the wanted one is before now. armed is set before want is
// read again, and SetReadDeadline stores want before it reads armed: whichever runs second sees
// the other's write, so a deadline moved while the sweeper looks is never lost.
func (c *lazyConn) expire(now int64) {
	w := c.want.Load()
	if w == 0 || w > now || c.armed.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed.Store(true)
	if c.want.Load() != w {
		c.armed.Store(false) // moved meanwhile
		return
	}
	_ = c.Conn.SetReadDeadline(aLongTimeAgo) // w passed by the sweeper's clock: any past time does
}

// aLongTimeAgo is a deadline that has always passed: a read waiting on it ends at once.
var aLongTimeAgo = time.Unix(1, 0)

func (c *lazyConn) Close() error {
	if !c.gone.Swap(true) {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	}
	return c.Conn.Close()
}
