package admin

import "time"

// Sample is one app's state at one sampling instant.
type Sample struct {
	// Time is when the sample was taken.
	Time time.Time
	// CPU is each replica's CPU use in percent of its instance quota, by hostname.
	CPU map[string]float64
	// MemoryBytes is each replica's memory use in bytes, by hostname.
	MemoryBytes map[string]uint64
	// Desired and Ready are replica counts.
	Desired, Ready int
	// RPS is requests per second answered since the previous sample.
	RPS float64
	// InFlight is the number of requests in flight at Time.
	InFlight float64
	// P50 and P99 are latency quantiles in seconds of the requests answered since the previous
	// sample; HasLatency is false when none were.
	P50, P99   float64
	HasLatency bool
	// Target is the autoscaling target (percent for cpu/memory, req/s for rps, requests for concurrency).
	Target float64
}

// ring keeps the newest samples, at most cap(buf) of them.
type ring struct {
	buf   []Sample
	start int // index of the oldest sample once the ring is full
}

func newRing(size int) *ring { return &ring{buf: make([]Sample, 0, size)} }

func (r *ring) add(s Sample) {
	if len(r.buf) < cap(r.buf) {
		r.buf = append(r.buf, s)
		return
	}
	r.buf[r.start] = s
	r.start = (r.start + 1) % len(r.buf)
}

// samples returns a copy of the samples, oldest first.
func (r *ring) samples() []Sample {
	out := make([]Sample, 0, len(r.buf))
	out = append(out, r.buf[r.start:]...)
	return append(out, r.buf[:r.start]...)
}
