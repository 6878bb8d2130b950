package admin

import (
	"maps"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric descriptions; every name starts with fnrun_ and app ids are labels.
var (
	descCPU = prometheus.NewDesc("fnrun_replica_cpu_utilization_percent",
		"CPU use of a replica in percent of its instance's CPU quota, over the scheduler's last tick.", []string{"app", "replica"}, nil)
	descThrottled = prometheus.NewDesc("fnrun_replica_cpu_throttled_seconds_total",
		"Time a replica was throttled by its CPU quota, in seconds.", []string{"app", "replica"}, nil)
	descMemory = prometheus.NewDesc("fnrun_replica_memory_bytes",
		"Memory use of a replica's cgroup, in bytes.", []string{"app", "replica"}, nil)
	descDesired = prometheus.NewDesc("fnrun_app_replicas_desired",
		"Number of replicas the autoscaler wants for an app.", []string{"app"}, nil)
	descReady = prometheus.NewDesc("fnrun_app_replicas_ready",
		"Number of an app's replicas of the current revision that are ready to serve.", []string{"app"}, nil)
	descRequests = prometheus.NewDesc("fnrun_app_requests_total",
		"Requests the router answered for an app, by HTTP status code (\"other\" for out-of-range codes).", []string{"app", "code"}, nil)
	descDuration = prometheus.NewDesc("fnrun_app_request_duration_seconds",
		"Latency of the requests the router answered for an app, in seconds.", []string{"app"}, nil)
	descScaling = prometheus.NewDesc("fnrun_app_scaling_events_total",
		"Changes of an app's desired replica count, by direction (up or down).", []string{"app", "direction"}, nil)
	descInFlight = prometheus.NewDesc("fnrun_app_in_flight_requests",
		"Requests of an app being handled now, queued ones included.", []string{"app"}, nil)
)

// collector reads the live state at scrape time.
type collector struct {
	apps    Apps
	stats   Stats
	sampler *Sampler
}

// Describe sends every metric description.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCPU, descThrottled, descMemory, descDesired, descReady, descRequests, descDuration, descScaling, descInFlight} {
		ch <- d
	}
}

// Collect sends the metrics of every app.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	list := c.apps.List()
	events := c.sampler.scalingEvents(list)
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	for _, st := range list {
		seen := map[string]bool{}
		for _, r := range st.Replicas {
			if seen[r.Hostname] {
				continue
			}
			seen[r.Hostname] = true
			gauge(descCPU, r.CPUPercent, st.ID, r.Hostname)
			counter(descThrottled, r.ThrottledSeconds, st.ID, r.Hostname)
			gauge(descMemory, float64(r.MemoryBytes), st.ID, r.Hostname)
		}
		gauge(descDesired, float64(st.Desired), st.ID)
		gauge(descReady, float64(st.Ready), st.ID)
		ev := events[st.ID]
		counter(descScaling, float64(ev.up), st.ID, DirectionUp)
		counter(descScaling, float64(ev.down), st.ID, DirectionDown)
		inFlight := st.InFlight
		if c.stats != nil {
			if rs, ok := c.stats.Stats(st.ID); ok {
				inFlight = float64(rs.InFlight)
				for _, code := range sortedCodes(rs.Status) {
					counter(descRequests, float64(rs.Status[code]), st.ID, codeLabel(code))
				}
				buckets := make(map[float64]uint64, len(rs.Latency))
				for _, b := range rs.Latency {
					buckets[b.LE] = b.Count
				}
				ch <- prometheus.MustNewConstHistogram(descDuration, rs.LatencyCount, rs.LatencySum, buckets, st.ID)
			}
		}
		gauge(descInFlight, inFlight, st.ID)
	}
}

// codeLabel is the code label of a router status key (0 holds out-of-range codes).
func codeLabel(code int) string {
	if code == 0 {
		return "other"
	}
	return strconv.Itoa(code)
}

func sortedCodes(m map[int]uint64) []int { return slices.Sorted(maps.Keys(m)) }
