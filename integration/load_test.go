package integration

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult counts the answers of a steady GET load.
type loadResult struct {
	sent, ok atomic.Int64
	mu       sync.Mutex
	failures []string // "time: what"
	bodies   map[string]int
}

func (r *loadResult) fail(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.failures) < 50 {
		r.failures = append(r.failures, time.Now().Format("15:04:05.000")+": "+what)
	}
}

// failed is the number of requests that did not get a 200.
func (r *loadResult) failed() int64 { return r.sent.Load() - r.ok.Load() }

// steadyLoad sends GET path to app id at rate requests per second until stop is closed, each
// request on its own goroutine, and returns once every request has answered.
func (d *daemon) steadyLoad(id, path string, rate int, stop <-chan struct{}) *loadResult {
	res := &loadResult{bodies: map[string]int{}}
	var wg sync.WaitGroup
	t := time.NewTicker(time.Second / time.Duration(rate))
	defer t.Stop()
	for {
		select {
		case <-stop:
			wg.Wait()
			return res
		case <-t.C:
		}
		res.sent.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body, err := d.get(id, path)
			if err != nil || code != 200 {
				res.fail(fmt.Sprintf("%d %v %.80q", code, err, body))
				return
			}
			res.ok.Add(1)
			res.mu.Lock()
			res.bodies[body]++
			res.mu.Unlock()
		}()
	}
}
