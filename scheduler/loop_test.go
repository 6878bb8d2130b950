package scheduler

import (
	"testing"
	"time"
)

func TestUntilNextTick(t *testing.T) {
	const tick = 250 * time.Millisecond
	base := time.Unix(1000, 0) // a multiple of tick
	for _, tc := range []struct {
		now  time.Time
		want time.Duration
	}{
		{base, tick}, // on a boundary: the next one, never 0
		{base.Add(time.Nanosecond), tick - time.Nanosecond},
		{base.Add(100 * time.Millisecond), 150 * time.Millisecond},
		{base.Add(tick - time.Nanosecond), time.Nanosecond},
		{base.Add(3*tick + 10*time.Millisecond), 240 * time.Millisecond},
	} {
		if got := untilNextTick(tc.now, tick); got != tc.want {
			t.Errorf("untilNextTick(base+%s) = %s, want %s", tc.now.Sub(base), got, tc.want)
		}
		if next := tc.now.Add(untilNextTick(tc.now, tick)); next.UnixNano()%int64(tick) != 0 {
			t.Errorf("base+%s: next tick %s is not on a multiple of %s", tc.now.Sub(base), next, tick)
		}
	}
}
