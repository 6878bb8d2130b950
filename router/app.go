package router

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// app is the routing state of one app.
type app struct {
	id      string
	timeout atomic.Int64 // request timeout in nanoseconds
	h2cApp  atomic.Bool  // the app speaks h2c, not HTTP/1.1
	ready   atomic.Pointer[readySet]
	seq     atomic.Uint64
	stats   appStats

	mu         sync.Mutex
	all        map[string]*backend // ready ones and ones still finishing requests
	wake       chan struct{}       // closed when the ready set becomes non-empty
	gone       chan struct{}       // closed by RemoveApp
	removed    bool
	activating bool // Activate was poked and no replica became ready since
}

func newApp(id string, cfg AppConfig) *app {
	a := &app{
		id:   id,
		all:  map[string]*backend{},
		wake: make(chan struct{}),
		gone: make(chan struct{}),
	}
	a.ready.Store(&readySet{})
	a.setConfig(cfg)
	return a
}

func (a *app) setConfig(cfg AppConfig) {
	t := cfg.Timeout
	if t <= 0 {
		t = DefaultAppTimeout
	}
	a.timeout.Store(int64(t))
	a.h2cApp.Store(cfg.Protocol == ProtocolH2C)
}

// h2c reports whether a's replicas speak h2c (HTTP/2 without TLS) instead of HTTP/1.1.
func (a *app) h2c() bool { return a.h2cApp.Load() }

func (a *app) timeoutDur() time.Duration { return time.Duration(a.timeout.Load()) }

// pick chooses and acquires a ready backend, or returns nil when none is ready.
// With exclude set it picks among the others; if there are none and sameOK, it retries exclude itself.
func (a *app) pick(policy PolicyFunc, exclude *backend, sameOK bool) *backend {
	for range 8 { // a stale snapshot may name a backend that just stopped accepting: reload
		set := a.ready.Load()
		n := len(set.list)
		if n == 0 {
			return nil
		}
		var b *backend
		switch skip := indexOf(set.list, exclude); {
		case exclude == nil || skip < 0:
			b = set.list[clamp(policy(set, a.seq.Add(1), rand.Uint64()), n)]
		case n > 1:
			w := &without{list: set.list, skip: skip}
			b = set.list[w.index(clamp(policy(w, a.seq.Add(1), rand.Uint64()), n-1))]
		case sameOK:
			b = exclude
		default:
			return nil
		}
		if b.tryAcquire() {
			return b
		}
	}
	return nil
}

func indexOf(list []*backend, b *backend) int {
	if b == nil {
		return -1
	}
	for i, x := range list {
		if x == b {
			return i
		}
	}
	return -1
}

func clamp(i, n int) int {
	if i < 0 || i >= n {
		return 0
	}
	return i
}

// setBackends replaces the ready set, keeping pools and counters of backends that stay.
func (a *app) setBackends(ready []Backend, cfg *Config) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.removed {
		return
	}
	keep := make(map[string]bool, len(ready))
	list := make([]*backend, 0, len(ready))
	for _, rb := range ready {
		if keep[rb.ID] {
			continue
		}
		keep[rb.ID] = true
		b := a.all[rb.ID]
		if b == nil || b.addr != rb.Addr {
			if b != nil {
				b.accepting.Store(false) // same hostname, new address: the old one only finishes
			}
			b = newBackend(rb, cfg)
			a.all[rb.ID] = b
		}
		b.accepting.Store(true)
		list = append(list, b)
	}
	a.ready.Store(&readySet{list: list})
	for id, b := range a.all {
		if !keep[id] {
			b.accepting.Store(false)
		}
	}
	a.pruneLocked()
	if len(list) > 0 {
		close(a.wake)
		a.wake = make(chan struct{})
		a.activating = false
	}
}

// pruneLocked forgets backends that are out of the ready set and idle.
func (a *app) pruneLocked() {
	for id, b := range a.all {
		if !b.accepting.Load() && b.inflight.Load() == 0 {
			delete(a.all, id)
			b.closeIdle()
		}
	}
}

// stopBackend removes backendID from the ready set and stops new requests to it.
func (a *app) stopBackend(backendID string) *backend {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.all[backendID]
	if b == nil {
		return nil
	}
	set := a.ready.Load()
	if i := indexOf(set.list, b); i >= 0 {
		list := make([]*backend, 0, len(set.list)-1)
		list = append(list, set.list[:i]...)
		list = append(list, set.list[i+1:]...)
		a.ready.Store(&readySet{list: list})
	}
	b.accepting.Store(false)
	return b
}

func (a *app) forget(b *backend) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.all[b.id] == b && !b.accepting.Load() && b.inflight.Load() == 0 {
		delete(a.all, b.id)
		b.closeIdle()
	}
}

// remove makes queued requests give up and stops every backend.
func (a *app) remove() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.removed {
		return
	}
	a.removed = true
	close(a.gone)
	a.ready.Store(&readySet{})
	for _, b := range a.all {
		b.accepting.Store(false)
	}
	a.pruneLocked()
}

// waitResult says why an activator wait ended.
type waitResult int

const (
	waitReady   waitResult = iota // a replica may be ready now: pick again
	waitFull                      // the queue is full
	waitTimeout                   // the request's deadline passed
	waitGone                      // the app was removed or the router is shutting down
)

// await queues the caller until the app has a ready backend. The first waiter of a cold episode
// pokes activate.
func (a *app) await(deadline time.Time, queueSize int, closing <-chan struct{}, activate func(string)) waitResult {
	a.mu.Lock()
	switch {
	case a.removed:
		a.mu.Unlock()
		return waitGone
	case len(a.ready.Load().list) > 0:
		a.mu.Unlock()
		return waitReady
	case a.stats.queued.Load() >= int64(queueSize):
		a.mu.Unlock()
		return waitFull
	}
	a.stats.queued.Add(1)
	wake := a.wake
	poke := !a.activating
	a.activating = true
	a.mu.Unlock()
	if poke && activate != nil {
		go activate(a.id)
	}

	res := waitTimeout
	if d := time.Until(deadline); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-wake:
			res = waitReady
		case <-t.C:
		case <-a.gone:
			res = waitGone
		case <-closing:
			res = waitGone
		}
		t.Stop()
	}

	a.mu.Lock()
	if a.stats.queued.Add(-1) == 0 && len(a.ready.Load().list) == 0 {
		a.activating = false // nobody waits any more: the next cold request pokes again
	}
	a.mu.Unlock()
	return res
}

func (a *app) snapshot() AppStats {
	st := a.stats.snapshot()
	a.mu.Lock()
	st.Backends = make(map[string]int64, len(a.all))
	for id, b := range a.all {
		st.Backends[id] = b.inflight.Load()
	}
	a.mu.Unlock()
	return st
}
