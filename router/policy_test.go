package router

import "testing"

// loads is a hand-written Candidates fake.
type loads []int64

func (l loads) Len() int             { return len(l) }
func (l loads) InFlight(i int) int64 { return l[i] }

func TestP2CPicksLessLoadedOfTwo(t *testing.T) {
	tests := []struct {
		name  string
		loads loads
		rnd   uint64
		want  int
	}{
		{"single", loads{7}, 12345, 0},
		{"two: second idle", loads{3, 0}, 0, 1},
		{"two: first idle", loads{0, 3}, 1, 0},
		{"two: tie keeps first draw", loads{2, 2}, 1, 1},
		// 2^32 ≡ 1 (mod 3): i = (1+1)%3 = 2; j = (rnd>>32)%2 = 1, below i so not shifted.
		{"three: j below i", loads{0, 1, 5}, 1<<32 | 1, 1},
		// i = (1+2)%3 = 0; j = 1 ≥ i → shifted to 2.
		{"three: j shifted past i", loads{4, 0, 1}, 1<<32 | 2, 2},
	}
	for _, tt := range tests {
		if got := P2C(tt.loads, 0, tt.rnd); got != tt.want {
			t.Errorf("%s: P2C(%v, rnd=%#x) = %d, want %d", tt.name, tt.loads, tt.rnd, got, tt.want)
		}
	}
}

func TestP2CNeverPicksMostLoadedWhenTwoCandidates(t *testing.T) {
	for rnd := uint64(0); rnd < 1000; rnd++ {
		r := rnd*0x9E3779B97F4A7C15 + rnd
		if got := P2C(loads{9, 1}, 0, r); got != 1 {
			t.Fatalf("rnd %#x: picked %d, want the idle backend 1", r, got)
		}
	}
}

func TestP2CDrawsDistinctCandidates(t *testing.T) {
	// With loads {1,1,0} the idle backend 2 must win whenever it is one of the two draws; over many
	// draws backend 2 must therefore be picked about 2/3 of the time (it is drawn unless {0,1}).
	n := 0
	const draws = 30000
	for k := uint64(0); k < draws; k++ {
		r := (k * 0x9E3779B97F4A7C15) ^ (k << 32)
		if P2C(loads{1, 1, 0}, 0, r) == 2 {
			n++
		}
	}
	if n < draws*6/10 || n > draws*73/100 {
		t.Fatalf("idle backend picked %d/%d times, want ≈2/3", n, draws)
	}
}

func TestRoundRobin(t *testing.T) {
	var got []int
	for seq := uint64(1); seq <= 6; seq++ {
		got = append(got, RoundRobin(loads{0, 0, 0}, seq, 99))
	}
	want := []int{1, 2, 0, 1, 2, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("RoundRobin sequence = %v, want %v", got, want)
		}
	}
}

func TestPolicyByName(t *testing.T) {
	for _, name := range []string{"", "p2c", "round-robin"} {
		if _, err := PolicyByName(name); err != nil {
			t.Errorf("PolicyByName(%q): %v", name, err)
		}
	}
	if _, err := PolicyByName("random"); err == nil {
		t.Error("PolicyByName(random) accepted an unknown policy")
	}
}

func TestWithoutSkipsExcluded(t *testing.T) {
	bs := []*backend{{id: "a"}, {id: "b"}, {id: "c"}}
	bs[0].inflight.Store(10)
	bs[1].inflight.Store(20)
	bs[2].inflight.Store(30)
	w := &without{list: bs, skip: 1}
	if w.Len() != 2 {
		t.Fatalf("Len = %d, want 2", w.Len())
	}
	if w.InFlight(0) != 10 || w.InFlight(1) != 30 {
		t.Fatalf("InFlight = %d,%d, want 10,30", w.InFlight(0), w.InFlight(1))
	}
	if bs[w.index(1)].id != "c" {
		t.Fatalf("index(1) → %s, want c", bs[w.index(1)].id)
	}
}
