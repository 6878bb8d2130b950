package runtime

import (
	"fmt"
	"sort"
)

// Instance is one instance type of the catalog: the resources a single replica gets.
type Instance struct {
	// Name is the catalog name, "C1".."C8".
	Name string `json:"name"`
	// MilliCores is the CPU quota in thousandths of a core (C3: 1000 = one core).
	MilliCores int64 `json:"millicores"`
	// MemoryBytes is the memory limit in bytes (C3: 2 GiB).
	MemoryBytes int64 `json:"memory_bytes"`
	// Credits is the price of one replica per hour.
	Credits float64 `json:"credits_per_hour"`
}

// Cores is the CPU quota in cores (C1: 0.1).
func (i Instance) Cores() float64 { return float64(i.MilliCores) / 1000 }

const gib = int64(1) << 30

// catalog holds the instance types; C1 = 0.1 core / 0.2 GiB … C8 = 32 cores / 64 GiB.
var catalog = map[string]Instance{
	"C1": {Name: "C1", MilliCores: 100, MemoryBytes: gib / 5, Credits: 1},
	"C2": {Name: "C2", MilliCores: 500, MemoryBytes: 1 * gib, Credits: 5},
	"C3": {Name: "C3", MilliCores: 1000, MemoryBytes: 2 * gib, Credits: 10},
	"C4": {Name: "C4", MilliCores: 2000, MemoryBytes: 4 * gib, Credits: 20},
	"C5": {Name: "C5", MilliCores: 4000, MemoryBytes: 8 * gib, Credits: 40},
	"C6": {Name: "C6", MilliCores: 8000, MemoryBytes: 16 * gib, Credits: 80},
	"C7": {Name: "C7", MilliCores: 16000, MemoryBytes: 32 * gib, Credits: 160},
	"C8": {Name: "C8", MilliCores: 32000, MemoryBytes: 64 * gib, Credits: 320},
}

// DefaultInstance is the instance type used when a manifest names none.
const DefaultInstance = "C3"

// LookupInstance returns the instance type called name.
func LookupInstance(name string) (Instance, error) {
	i, ok := catalog[name]
	if !ok {
		return Instance{}, fmt.Errorf("instance %q is not an instance type (C1..C8)", name)
	}
	return i, nil
}

// Instances returns the catalog ordered from the smallest to the largest type.
func Instances() []Instance {
	out := make([]Instance, 0, len(catalog))
	for _, i := range catalog {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].MilliCores < out[b].MilliCores })
	return out
}
