package admin

import (
	"time"

	"github.com/fnrun/fnrun/scheduler"
)

// Scaling directions, the direction label of fnrun_app_scaling_events_total.
const (
	DirectionUp   = "up"
	DirectionDown = "down"
)

// scalingCount counts an app's replica-count changes since the sampler first saw it.
type scalingCount struct {
	up, down uint64
	// last is the time of the newest decision counted.
	last time.Time
}

// countDecisions is pure: c advanced by the changing decisions newer than c.last.
func countDecisions(c scalingCount, ds []scheduler.Decision) scalingCount {
	newest := c.last
	for _, d := range ds {
		if !d.Time.After(c.last) || !d.Changed() {
			continue
		}
		if d.Desired > d.Current {
			c.up++
		} else {
			c.down++
		}
		if d.Time.After(newest) {
			newest = d.Time
		}
	}
	c.last = newest
	return c
}

// countScalingLocked folds st's decisions into the app's counts; s.mu must be held.
func (s *Sampler) countScalingLocked(st scheduler.AppStatus) {
	c := s.scaling[st.ID]
	if c == nil {
		c = &scalingCount{}
		s.scaling[st.ID] = c
	}
	*c = countDecisions(*c, st.Decisions)
}

// scalingEvents folds the decisions of every app in list into the counts and returns them.
func (s *Sampler) scalingEvents(list []scheduler.AppStatus) map[string]scalingCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]scalingCount, len(list))
	for _, st := range list {
		s.countScalingLocked(st)
		out[st.ID] = *s.scaling[st.ID]
	}
	return out
}
