package sandbox

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fnrun/fnrun/runtime"
)

var benchSeq int

// BenchmarkStart measures Manager.Start until the app's command runs, with
// the spare init the Manager keeps (v1) and cold (Manager closed: no spare).
// Needs root: go test -run '^$' -bench BenchmarkStart ./sandbox/
func BenchmarkStart(b *testing.B) {
	inst, err := runtime.LookupInstance("C3")
	if err != nil {
		b.Fatal(err)
	}
	for _, withSpare := range []bool{true, false} {
		name := "cold"
		if withSpare {
			name = "spare"
		}
		b.Run(name, func(b *testing.B) {
			m := newTestManager(b)
			if withSpare && m.Mode() != ModeV1 {
				b.Skip("spare inits are used with v1 cgroups only")
			}
			if !withSpare {
				m.Close()
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if withSpare && i > 0 {
					waitSpare(b, m)
				}
				benchSeq++
				r := Replica{App: "bench", Revision: "00001", Hostname: fmt.Sprintf("bench-%d", benchSeq),
					Args: []string{"sleep", "1000"}, Dir: "/", Instance: inst}
				b.StartTimer()
				s, err := m.Start(context.Background(), r)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Stop(time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
