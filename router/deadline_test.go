package router

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// lazyPair is a lazy-deadline connection (the router's side) and its peer, on a sweeper driven
// by hand: sweep is called with chosen times, so nothing here waits for a clock.
func lazyPair(t *testing.T, tick time.Duration, now time.Time) (*sweeper, *lazyConn, net.Conn) {
	t.Helper()
	s := newSweeper(tick, now)
	a, b := net.Pipe()
	lc := s.wrap(a)
	t.Cleanup(func() { _ = lc.Close(); _ = b.Close() })
	return s, lc, b
}

// readErr starts a one-byte read on c and returns where its error will arrive.
func readErr(c net.Conn) <-chan error {
	ch := make(chan error, 1)
	go func() {
		var b [1]byte
		_, err := c.Read(b[:])
		ch <- err
	}()
	return ch
}

func TestLazyDeadlineFiresOnTheSweepAfterIt(t *testing.T) {
	now := time.Now()
	s, lc, _ := lazyPair(t, 10*time.Millisecond, now)
	want := now.Add(time.Minute)
	if err := lc.SetReadDeadline(want); err != nil {
		t.Fatal(err)
	}
	if lc.armed.Load() {
		t.Fatal("a deadline a minute away was set on the connection at once")
	}
	errc := readErr(lc)
	s.sweep(want.Add(-time.Millisecond))
	if lc.armed.Load() {
		t.Fatal("the sweep before the deadline armed it")
	}
	s.sweep(want.Add(time.Millisecond))
	err := recvWithin(t, errc, "the read to time out")
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after the deadline's sweep: %v, want a deadline error", err)
	}
}

func TestLazyDeadlineMovedAfterArmingIsLifted(t *testing.T) {
	now := time.Now()
	s, lc, peer := lazyPair(t, 10*time.Millisecond, now)
	first := now.Add(time.Minute)
	_ = lc.SetReadDeadline(first)
	s.sweep(first.Add(time.Second)) // expired while no read was waiting (a long handler)
	if !lc.armed.Load() {
		t.Fatal("the expired deadline was not armed")
	}
	if err := lc.SetReadDeadline(first.Add(time.Hour)); err != nil { // the next request's deadline
		t.Fatal(err)
	}
	if lc.armed.Load() {
		t.Fatal("moving the deadline left the expired one armed")
	}
	errc := readErr(lc)
	if _, err := peer.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := recvWithin(t, errc, "the read"); err != nil {
		t.Fatalf("read after the deadline moved: %v", err)
	}
}

func TestNearDeadlineIsSetAtOnce(t *testing.T) {
	now := time.Now()
	_, lc, _ := lazyPair(t, time.Hour, now) // no sweep will come
	if err := lc.SetReadDeadline(now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := recvWithin(t, readErr(lc), "the read"); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past a deadline in the past: %v, want a deadline error at once", err)
	}
	if err := lc.SetDeadline(time.Time{}); err != nil { // cleared: reads wait for data again
		t.Fatal(err)
	}
	if lc.armed.Load() {
		t.Fatal("a cleared deadline is still set")
	}
}

func TestLazyConnCloseForgetsIt(t *testing.T) {
	s, lc, _ := lazyPair(t, time.Millisecond, time.Now())
	if len(s.conns) != 1 {
		t.Fatalf("%d watched connections, want 1", len(s.conns))
	}
	_ = lc.Close()
	_ = lc.Close()
	if len(s.conns) != 0 {
		t.Fatalf("%d watched connections after Close, want 0", len(s.conns))
	}
}

// Deadlines moved while sweeps run are never lost: after the last move to the future and a
// sweep before it, a read gets its data.
func TestLazyDeadlineRacingSweeps(t *testing.T) {
	base := time.Now()
	s, lc, peer := lazyPair(t, time.Millisecond, base)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 2000 {
			_ = lc.SetReadDeadline(base.Add(time.Duration(i%3) * time.Hour)) // 0: none; some expire
		}
	}()
	go func() {
		defer wg.Done()
		for range 2000 {
			s.sweep(base.Add(30 * time.Minute))
		}
	}()
	wg.Wait()
	_ = lc.SetReadDeadline(base.Add(2 * time.Hour))
	s.sweep(base.Add(time.Hour))
	errc := readErr(lc)
	go func() { _, _ = io.WriteString(peer, "x") }()
	if err := recvWithin(t, errc, "the read"); err != nil {
		t.Fatalf("read with a deadline an hour after the last sweep: %v", err)
	}
}

func TestSweepTick(t *testing.T) {
	for _, tc := range []struct{ shortest, want time.Duration }{
		{10 * time.Second, 250 * time.Millisecond},
		{time.Second, 50 * time.Millisecond},
		{20 * time.Millisecond, 5 * time.Millisecond},
	} {
		if got := sweepTick(tc.shortest); got != tc.want {
			t.Errorf("sweepTick(%s) = %s, want %s", tc.shortest, got, tc.want)
		}
	}
}
