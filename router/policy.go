package router

import "fmt"

// Candidates is the read-only view of an app's ready backends that a PolicyFunc chooses from.
type Candidates interface {
	// Len is the number of candidates, at least 1.
	Len() int
	// InFlight is candidate i's number of outstanding requests.
	InFlight(i int) int64
}

// PolicyFunc picks the index, in [0, c.Len()), of the backend a request goes to. seq increases by
// one per pick of the app; rnd is uniformly random. It must be pure, cheap and must not block.
type PolicyFunc func(c Candidates, seq, rnd uint64) int

// P2C is "power of two choices": it draws two distinct candidates at random and takes the one with
// fewer outstanding requests.
func P2C(c Candidates, _, rnd uint64) int {
	n := uint64(c.Len())
	if n <= 1 {
		return 0
	}
	i := rnd % n
	j := (rnd >> 32) % (n - 1)
	if j >= i {
		j++
	}
	if c.InFlight(int(j)) < c.InFlight(int(i)) {
		return int(j)
	}
	return int(i)
}

// RoundRobin rotates through the candidates in order.
func RoundRobin(c Candidates, seq, _ uint64) int {
	return int(seq % uint64(c.Len()))
}

// PolicyByName returns the policy called name: "p2c" (also "") or "round-robin".
func PolicyByName(name string) (PolicyFunc, error) {
	switch name {
	case "", "p2c":
		return P2C, nil
	case "round-robin", "roundrobin", "rr":
		return RoundRobin, nil
	}
	return nil, fmt.Errorf("load-balancing policy %q: unknown (want p2c or round-robin)", name)
}
