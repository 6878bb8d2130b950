package admin

import (
	"testing"
	"time"
)

func TestBuildHistoryAlignsReplicaSeries(t *testing.T) {
	samples := []Sample{
		{Time: t0, CPU: map[string]float64{"a-1": 90}, MemoryBytes: map[string]uint64{"a-1": 1}, Desired: 1, Ready: 1, Target: 40},
		{Time: t0.Add(time.Second), CPU: map[string]float64{"a-1": 95, "a-2": 5}, Desired: 2, Ready: 1, Target: 40,
			RPS: 3, P50: 0.01, P99: 0.2, HasLatency: true},
		{Time: t0.Add(2 * time.Second), CPU: map[string]float64{"a-2": 50}, Desired: 2, Ready: 2, Target: 40},
	}
	h := buildHistory(app("a", 40, 2, nil), samples)
	if len(h.T) != 3 || h.T[1]-h.T[0] != 1 {
		t.Fatalf("t = %v, want three points one second apart", h.T)
	}
	if len(h.Replicas) != 2 || h.Replicas[0] != "a-1" || h.Replicas[1] != "a-2" {
		t.Fatalf("replicas = %v, want [a-1 a-2] in order of appearance", h.Replicas)
	}
	val := func(p *float64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	wantCPU := [][]any{{90.0, 95.0, nil}, {nil, 5.0, 50.0}}
	for j := range wantCPU {
		for i := range wantCPU[j] {
			if got := val(h.CPU[j][i]); got != wantCPU[j][i] {
				t.Errorf("cpu[%s][%d] = %v, want %v", h.Replicas[j], i, got, wantCPU[j][i])
			}
		}
	}
	if h.P50[0] != nil || h.P50[1] == nil || *h.P99[1] != 0.2 {
		t.Errorf("latency = %v/%v, want null without requests and 0.01/0.2 with", h.P50, h.P99)
	}
	if h.Desired[1] != 2 || h.Ready[1] != 1 || h.Target[2] != 40 || h.Metric != "cpu" {
		t.Errorf("desired/ready/target/metric = %v/%v/%v/%s", h.Desired, h.Ready, h.Target, h.Metric)
	}
}
