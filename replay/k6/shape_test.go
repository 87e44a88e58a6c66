package k6

import (
	"slices"
	"testing"
	"time"
)

func TestRateShape(t *testing.T) {
	ms := time.Millisecond
	spread := func(n int, every time.Duration) []time.Duration {
		var ats []time.Duration
		for i := range n {
			ats = append(ats, time.Duration(i)*every)
		}
		return ats
	}
	tests := []struct {
		name     string
		ats      []time.Duration
		total    time.Duration
		maxSteps int
		steps    int           // how many steps, after merging
		unit     time.Duration // the timeUnit
	}{
		// A steady 10/s for 5 s is one step.
		{"steady", spread(50, 100*ms), 5 * time.Second, 300, 1, time.Second},
		// A burst in second 1 is its own step, between two steady ones.
		{"burst", append(spread(30, 100*ms), 1100*ms, 1200*ms, 1300*ms), 3 * time.Second, 300, 3, time.Second},
		// 301 s into at most 300 steps: 2 s each, the last one 3 s.
		{"whole seconds", spread(301, time.Second), 301 * time.Second, 300, 2, 2 * time.Second},
		// 1000 s of traffic into at most 100 steps: 10 s each.
		{"compressed", spread(1000, time.Second), 1000 * time.Second, 100, 1, 10 * time.Second},
		// 2.5 s: one whole second, then the last step takes the 1.5 s left.
		{"remainder", spread(25, 100*ms), 2500 * ms, 300, 2, time.Second},
		// Under a second: one step as long as the capture.
		{"short", spread(4, 100*ms), 400 * ms, 300, 1, 400 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slices.Sort(tt.ats)
			steps, unit := rateShape(tt.ats, tt.total, tt.maxSteps)
			if len(steps) != tt.steps || unit != tt.unit {
				t.Fatalf("%d steps of unit %s, want %d of %s: %+v", len(steps), unit, tt.steps, tt.unit, steps)
			}
			var sum time.Duration
			reqs, iters := 0, 0
			for _, st := range steps {
				sum += st.Duration
				reqs += st.Requests
				// What k6 starts: the target per unit over the step's duration.
				iters += target(st, unit) * int(st.Duration) / int(unit)
			}
			if sum != tt.total {
				t.Errorf("steps add up to %s, want %s", sum, tt.total)
			}
			if reqs != len(tt.ats) {
				t.Errorf("steps hold %d requests, want %d", reqs, len(tt.ats))
			}
			// Never fewer iterations than requests; at most one spare.
			if iters < len(tt.ats) || iters > len(tt.ats)+1 {
				t.Errorf("the shape starts %d iterations for %d requests", iters, len(tt.ats))
			}
		})
	}
}
