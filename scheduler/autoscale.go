package scheduler

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defaults Decide applies when the matching ScaleSpec field is zero.
const (
	scaleDefaultTolerance  = 0.1              // fraction of the target
	scaleDefaultUpWindow   = time.Second      // load must stay high this long to scale up
	scaleDefaultDownWindow = 30 * time.Second // load must stay low this long to scale down
)

// ScaleSpec is what an app's manifest says about scaling, plus the instance name for reasons.
type ScaleSpec struct {
	Metric          string        // "cpu", "memory", "rps", "concurrency"
	Target          float64       // percent of quota for cpu/memory; requests/s per replica for rps; in-flight per replica for concurrency
	Min, Max        int           // replica bounds; Min 0 is allowed for rps/concurrency only (cpu/memory use at least 1); Max below Min counts as Min
	Instance        string        // "C3", used only in reasons
	Tolerance       float64       // fraction, 0 means default 0.1
	ScaleUpWindow   time.Duration // 0 means default 1s
	ScaleDownWindow time.Duration // 0 means default 30s
}

// ReplicaSample is one replica's metrics at one instant.
type ReplicaSample struct {
	Name    string
	Ready   bool    // false: starting or draining, left out of the average
	Missing bool    // no sample could be read this tick
	CPU     float64 // percent of the instance quota (0..100+)
	Memory  float64 // percent of the memory limit
}

// Snapshot is everything known about one app at one tick.
type Snapshot struct {
	Time     time.Time
	Replicas []ReplicaSample
	RPS      float64 // requests per second over the last tick, whole app
	InFlight float64 // in-flight requests at that instant, whole app (the router's queue for an app at zero counts too)
}

// Decision is the outcome of one Decide call.
type Decision struct {
	Time    time.Time
	Current int    // replica count before
	Desired int    // replica count to drive to
	Reason  string // e.g. "cpu 97% of C3 > target 40% on 1 ready replica → 2 (max 2)"
}

// Changed reports whether the decision asks for a different replica count.
func (d Decision) Changed() bool { return d.Desired != d.Current }

// Decide is pure: history is ordered oldest first and may hold more than the windows need.
//
// It works like the Kubernetes HPA with the reaction times of Knative:
//
//   - cpu/memory: per snapshot the utilization is averaged over ready
//     replicas; desired = ceil(ready × avg / target). rps/concurrency:
//     desired = ceil(total / target).
//   - Inside the tolerance band (|usage/target − 1| ≤ tolerance) the count stays.
//   - Scale-up uses the mean over the last ScaleUpWindow, leaving out its
//     single highest tick when the window holds three or more, so a lone
//     250 ms spike cannot scale whatever the base load; missing samples of
//     ready replicas count as 0%. The history must reach back a whole window.
//     A step is at most max(2×current, current+4).
//   - Scale-down takes the highest per-tick recommendation over the last
//     ScaleDownWindow (missing samples count as 100%), and only once the
//     history reaches back that far.
//   - Zero (rps/concurrency with Min 0): down to 0 only after a whole
//     ScaleDownWindow with no requests and nothing in flight; from 0, any
//     request or in-flight request in the latest snapshot gives at least 1 at once.
//   - The result is always clamped to [Min, Max].
//
// Worked example: one ready C3 replica at 97% CPU for the last second, target
// 40, max 2, current 1: usage ratio 97/40 = 2.43 is outside the 10% band;
// ceil(1 × 97/40) = 3; the step limit max(2×1, 1+4) = 5 does not bind; the
// clamp to max 2 does: Desired 2, Reason
// "cpu 97% of C3 > target 40% on 1 ready replica → 2 (max 2)".
// When that load drops to 2% on 2 ready replicas, every tick recommends
// ceil(2 × 2/40) = 1, but the count stays 2 until the last 30s of history all
// recommend 1: "cpu 2% of C3 < target 40% on 2 ready replicas → 1 after 30s below".
func Decide(now time.Time, current int, history []Snapshot, spec ScaleSpec) Decision {
	d := Decision{Time: now, Current: current}
	if current < 0 {
		current = 0
	}
	p, problem := newScalePolicy(spec)
	// Snapshots stamped after now are not known yet at now.
	hist := history[:sort.Search(len(history), func(i int) bool { return history[i].Time.After(now) })]

	switch {
	case problem != "":
		n, note := p.settle(current, current, false)
		d.Desired, d.Reason = n, fmt.Sprintf("%s: keeping %d%s", problem, n, note)
	case current == 0:
		d.Desired, d.Reason = p.fromZero(hist)
	case len(hist) == 0:
		n, note := p.settle(current, current, false)
		d.Desired, d.Reason = n, fmt.Sprintf("no %s metrics yet → %d%s", p.metric, n, note)
	default:
		d.Desired, d.Reason = p.decide(now, current, hist)
	}
	return d
}

// scalePolicy is a ScaleSpec with defaults applied and bounds made consistent.
type scalePolicy struct {
	metric     string
	perReplica bool // cpu/memory: utilization averaged over ready replicas; else an app total
	target     float64
	tol        float64
	min, max   int
	instance   string
	up, down   time.Duration
}

// HistoryNeeded is how far back Decide looks: the longer of the two windows (defaults applied).
// A control loop may drop snapshots older than that.
func (s ScaleSpec) HistoryNeeded() time.Duration {
	p, _ := newScalePolicy(s)
	return max(p.up, p.down)
}

// newScalePolicy normalizes spec; problem is non-empty when no decision can
// be computed from it (unknown metric, target not positive).
func newScalePolicy(spec ScaleSpec) (p scalePolicy, problem string) {
	p = scalePolicy{
		metric:   spec.Metric,
		target:   spec.Target,
		tol:      spec.Tolerance,
		min:      spec.Min,
		max:      spec.Max,
		instance: spec.Instance,
		up:       spec.ScaleUpWindow,
		down:     spec.ScaleDownWindow,
	}
	if p.tol <= 0 {
		p.tol = scaleDefaultTolerance
	}
	if p.up <= 0 {
		p.up = scaleDefaultUpWindow
	}
	if p.down <= 0 {
		p.down = scaleDefaultDownWindow
	}
	switch p.metric {
	case "cpu", "memory":
		p.perReplica = true
		if p.min < 1 {
			p.min = 1 // no replica, no utilization to wake up on
		}
	case "rps", "concurrency":
		if p.min < 0 {
			p.min = 0
		}
	default:
		problem = fmt.Sprintf("unknown scaling metric %q", spec.Metric)
		if p.min < 0 {
			p.min = 0
		}
	}
	if p.max < p.min {
		p.max = p.min
	}
	if problem == "" && !(p.target > 0) {
		problem = fmt.Sprintf("%s target %s is not positive", p.metric, scaleNum(p.target))
	}
	return p, problem
}

// scaleReading is one snapshot (or a window mean) reduced to the chosen metric.
type scaleReading struct {
	value    float64 // cpu/memory: mean percent over ready replicas; rps/concurrency: app total
	ready    int     // ready replicas (cpu/memory only)
	notReady int     // starting or draining replicas (cpu/memory only)
	missing  int     // ready replicas without a sample (cpu/memory only)
	as       float64 // percent a missing sample was counted as
	ok       bool    // false: no ready replica, nothing to compute from
}

// read reduces s to the metric, counting a missing sample of a ready replica as missingAs percent.
func (p scalePolicy) read(s Snapshot, missingAs float64) scaleReading {
	switch p.metric {
	case "rps":
		return scaleReading{value: s.RPS, ok: true}
	case "concurrency":
		return scaleReading{value: s.InFlight, ok: true}
	}
	r := scaleReading{as: missingAs}
	var sum float64
	for _, rs := range s.Replicas {
		switch {
		case !rs.Ready:
			r.notReady++
			continue
		case rs.Missing:
			r.missing++
			sum += missingAs
		case p.metric == "cpu":
			sum += rs.CPU
		default:
			sum += rs.Memory
		}
		r.ready++
	}
	if r.ready > 0 {
		r.value, r.ok = sum/float64(r.ready), true
	}
	return r
}

// want is the unrounded replica count a reading asks for.
func (p scalePolicy) want(r scaleReading) float64 {
	if p.perReplica {
		return float64(r.ready) * r.value / p.target
	}
	return r.value / p.target
}

// ratio is usage over target, the number the tolerance band applies to.
func (p scalePolicy) ratio(r scaleReading, current int) float64 {
	if p.perReplica {
		return r.value / p.target
	}
	return r.value / (float64(current) * p.target)
}

// inBand reports whether a usage ratio is within the tolerance band (edges included).
func (p scalePolicy) inBand(ratio float64) bool {
	return math.Abs(ratio-1) <= p.tol+1e-9
}

// recommend is the replica count one reading asks for at the given current count.
func (p scalePolicy) recommend(r scaleReading, current int) int {
	if !r.ok || p.inBand(p.ratio(r, current)) {
		return current
	}
	return scaleCeil(p.want(r))
}

// upMean averages the readings of the last up window, missing samples as 0%,
// leaving out the tick that asks for most when three or more are usable.
// The result's counts (ready, missing, not ready) are the latest usable tick's.
func (p scalePolicy) upMean(now time.Time, hist []Snapshot) (mean scaleReading, want float64) {
	var sumV, sumW, topV, topW float64
	n := 0
	for _, s := range hist[scaleWindowStart(hist, now, p.up):] {
		r := p.read(s, 0)
		if !r.ok {
			continue
		}
		w := p.want(r)
		if n == 0 || w > topW {
			topV, topW = r.value, w
		}
		sumV += r.value
		sumW += w
		n++
		mean = r
	}
	if n == 0 {
		return scaleReading{}, 0
	}
	if n >= 3 {
		sumV, sumW, n = sumV-topV, sumW-topW, n-1
	}
	mean.value = sumV / float64(n)
	return mean, sumW / float64(n)
}

// decide handles current ≥ 1 with a non-empty history.
func (p scalePolicy) decide(now time.Time, current int, hist []Snapshot) (int, string) {
	up, upWant := p.upMean(now, hist)
	upPhrase := fmt.Sprintf("no ready replica reported %s in the last %s", p.metric, scaleDur(p.up))
	if up.ok {
		upPhrase = p.phrase(up, current)
	}
	if up.ok && p.ratio(up, current) > 1 && !p.inBand(p.ratio(up, current)) {
		if raw := scaleCeil(upWant); raw > current {
			if !scaleCovered(hist, now, p.up) {
				return p.hold(current, upPhrase, fmt.Sprintf("only %s of history, scale-up needs %s",
					scaleDur(now.Sub(hist[0].Time)), scaleDur(p.up)))
			}
			n, note := p.settle(current, raw, true)
			return n, fmt.Sprintf("%s → %d%s", upPhrase, n, note)
		}
	}

	// Not scaling up: the stabilized scale-down recommendation decides.
	latest := p.read(hist[len(hist)-1], 100)
	downPhrase := p.phrase(latest, current)
	if !latest.ok {
		downPhrase = upPhrase
	}
	covered := scaleCovered(hist, now, p.down)
	highest, idle, ticks := p.highestDown(now, hist, current)
	if ticks == 0 {
		return p.hold(current, upPhrase, fmt.Sprintf("no samples in the last %s", scaleDur(p.down)))
	}
	if !p.perReplica && p.min == 0 && idle && covered {
		n, note := p.settle(current, 0, false)
		return n, fmt.Sprintf("no requests and nothing in flight for %s → %d%s", scaleDur(p.down), n, note)
	}
	if highest < 1 {
		highest = 1 // zero only when idle, above
	}
	if highest < current && covered {
		n, note := p.settle(current, highest, false)
		return n, fmt.Sprintf("%s → %d after %s below%s", downPhrase, n, scaleDur(p.down), note)
	}
	if rec := p.recommend(latest, current); rec < current && current > p.min {
		why := fmt.Sprintf("highest recommendation in the last %s is %d", scaleDur(p.down), highest)
		switch {
		case !covered:
			why = fmt.Sprintf("only %s of history, scale-down needs %s", scaleDur(now.Sub(hist[0].Time)), scaleDur(p.down))
		case rec == 0 && current == 1:
			why = fmt.Sprintf("scale to zero needs %s with no requests and nothing in flight", scaleDur(p.down))
		}
		return p.hold(current, downPhrase, why)
	}
	phrase := upPhrase
	if up.ok && !p.inBand(p.ratio(up, current)) && scaleCeil(upWant) < current {
		phrase = downPhrase // what kept the count: e.g. missing samples counted as 100%
	}
	n, note := p.settle(current, current, false)
	return n, fmt.Sprintf("%s → %d%s", phrase, n, note)
}

// highestDown is the highest per-tick recommendation within the last down
// window (missing samples as 100%), whether every tick there was without
// requests, and how many ticks there were.
func (p scalePolicy) highestDown(now time.Time, hist []Snapshot, current int) (highest int, idle bool, ticks int) {
	idle = true
	for _, s := range hist[scaleWindowStart(hist, now, p.down):] {
		if s.RPS != 0 || s.InFlight != 0 {
			idle = false
		}
		rec := p.recommend(p.read(s, 100), current)
		if ticks == 0 || rec > highest {
			highest = rec
		}
		ticks++
	}
	return highest, idle, ticks
}

// hold keeps current, unless the bounds move it, and says why.
func (p scalePolicy) hold(current int, phrase, why string) (int, string) {
	n, note := p.settle(current, current, false)
	if n != current {
		return n, fmt.Sprintf("%s → %d%s", phrase, n, note)
	}
	return n, fmt.Sprintf("%s; holding %d: %s", phrase, n, why)
}

// fromZero decides for an app with no replicas: the activator path.
func (p scalePolicy) fromZero(hist []Snapshot) (int, string) {
	if p.perReplica {
		n, note := p.settle(0, 0, false)
		return n, fmt.Sprintf("no replica to measure %s on → %d%s", p.metric, n, note)
	}
	if len(hist) > 0 {
		last := hist[len(hist)-1]
		if last.RPS > 0 || last.InFlight > 0 {
			v := last.RPS
			if p.metric == "concurrency" {
				v = last.InFlight
			}
			raw := scaleCeil(v / p.target)
			if raw < 1 {
				raw = 1
			}
			n, note := p.settle(0, raw, true)
			return n, fmt.Sprintf("activator: %s in flight, %s rps at zero → %d%s",
				scaleNum(last.InFlight), scaleNum(last.RPS), n, note)
		}
	}
	n, note := p.settle(0, 0, false)
	return n, fmt.Sprintf("idle at zero: no requests → %d%s", n, note)
}

// settle bounds raw: by the step limit when scaling up, then by [min, max].
// note names the bound that changed it, e.g. " (max 2)".
func (p scalePolicy) settle(current, raw int, up bool) (n int, note string) {
	n = raw
	if limit := max(2*current, current+4); up && n > limit {
		n, note = limit, fmt.Sprintf(" (step limit %d)", limit)
	}
	if n > p.max {
		n, note = p.max, fmt.Sprintf(" (max %d)", p.max)
	}
	if n < p.min {
		n, note = p.min, fmt.Sprintf(" (min %d)", p.min)
	}
	return n, note
}

// phrase describes a reading against the target, e.g.
// "cpu 97% of C3 > target 40% on 1 ready replica".
func (p scalePolicy) phrase(r scaleReading, current int) string {
	ratio := p.ratio(r, current)
	rel := "within " + scaleNum(p.tol*100) + "% of"
	switch {
	case p.inBand(ratio):
	case ratio > 1:
		rel = ">"
	default:
		rel = "<"
	}
	var b strings.Builder
	switch p.metric {
	case "rps":
		fmt.Fprintf(&b, "rps %s %s target %s per replica on %s", scaleNum(r.value), rel, scaleNum(p.target), scalePlural(current, "replica"))
	case "concurrency":
		fmt.Fprintf(&b, "concurrency %s in flight %s target %s per replica on %s", scaleNum(r.value), rel, scaleNum(p.target), scalePlural(current, "replica"))
	default:
		fmt.Fprintf(&b, "%s %s%%", p.metric, scaleNum(r.value))
		if p.instance != "" {
			b.WriteString(" of " + p.instance)
		}
		fmt.Fprintf(&b, " %s target %s%% on %s", rel, scaleNum(p.target), scalePlural(r.ready, "ready replica"))
		var extra []string
		if r.notReady > 0 {
			extra = append(extra, fmt.Sprintf("%d not ready", r.notReady))
		}
		if r.missing > 0 {
			extra = append(extra, fmt.Sprintf("%d missing counted as %s%%", r.missing, scaleNum(r.as)))
		}
		if len(extra) > 0 {
			b.WriteString(" (" + strings.Join(extra, ", ") + ")")
		}
	}
	return b.String()
}

// scaleWindowStart is the index of the first snapshot inside (now−w, now].
func scaleWindowStart(hist []Snapshot, now time.Time, w time.Duration) int {
	from := now.Add(-w)
	return sort.Search(len(hist), func(i int) bool { return hist[i].Time.After(from) })
}

// scaleCovered reports whether hist reaches back a whole window w before now.
func scaleCovered(hist []Snapshot, now time.Time, w time.Duration) bool {
	return len(hist) > 0 && !hist[0].Time.After(now.Add(-w))
}

// scaleCeil rounds a replica count up, forgiving float noise and capping absurd values.
func scaleCeil(x float64) int {
	const most = 1 << 20
	switch {
	case !(x > 0):
		return 0
	case x >= most:
		return most
	}
	return int(math.Ceil(x - 1e-9))
}

// scaleNum formats v with at most one decimal: 97, 2.5.
func scaleNum(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// scaleDur formats d compactly: 30s, 1.5s, 250ms.
func scaleDur(d time.Duration) string {
	if d >= time.Second {
		return scaleNum(d.Seconds()) + "s"
	}
	return d.Round(time.Millisecond).String()
}

// scalePlural writes "1 ready replica" or "2 ready replicas".
func scalePlural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
