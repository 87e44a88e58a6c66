package chaos

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// wide is a random plan over a long span, so placements rarely collide.
func wide(seed int64) Random {
	return Random{Seed: seed, Count: 12, MinFor: time.Second, MaxFor: 10 * time.Second, Until: 10 * time.Minute}
}

func TestRandomPlanIsDeterministic(t *testing.T) {
	a, errs := RandomPlan(wide(42), FullReach())
	if errs != nil {
		t.Fatalf("RandomPlan: %v", errs)
	}
	// Same seed, same plan, every time.
	for range 5 {
		b, _ := RandomPlan(wide(42), FullReach())
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed 42 gave two plans:\n%v\n%v", a, b)
		}
	}
	// Other seeds, other plans.
	seen := map[string]int64{fmtPlan(a): 42}
	for seed := int64(1); seed <= 10; seed++ {
		p, errs := RandomPlan(wide(seed), FullReach())
		if errs != nil {
			t.Fatalf("seed %d: %v", seed, errs)
		}
		if other, dup := seen[fmtPlan(p)]; dup {
			t.Errorf("seeds %d and %d gave the same plan", seed, other)
		}
		seen[fmtPlan(p)] = seed
	}
	// The plan is what was asked for, and a valid plan.
	if len(a) != 12 || ValidateFaults(a, FullReach()) != nil {
		t.Errorf("plan %v: want 12 valid faults", a)
	}
	for i, f := range a {
		if !strings.HasPrefix(f.Name, "random-") || f.For < time.Second || f.For > 10*time.Second || f.At < 0 || f.At+f.For > 10*time.Minute || f.At%time.Millisecond != 0 {
			t.Errorf("fault %d out of bounds: %+v", i, f)
		}
	}
}

func TestRandomPlanFitsTheRun(t *testing.T) {
	tests := []struct {
		name    string
		reach   Reach
		kinds   []string
		targets []string
		ok      func(Fault) bool // every drawn fault must pass
	}{
		// A run with only links (no process, store or feed control) gets
		// only network faults, on its links.
		{"links only", Reach{Links: []string{"redis", "api"}}, nil, nil, func(f Fault) bool {
			_, isNet := mustKind(f).(netKind)
			return isNet && (f.Target == "redis" || f.Target == "api")
		}},
		// The kinds and targets asked for, and no others.
		{"kinds and targets", FullReach(), []string{"latency", "down", "kill"}, []string{"postgres", "platform"}, func(f Fault) bool {
			return slices.Contains([]string{"latency", "down", "kill"}, f.Kind) && (f.Kind == "kill") == (f.Target == "platform")
		}},
		// Feed kinds go to the feed stream, store kinds to their store.
		{"families", FullReach(), []string{"gap", "data_loss", "terminate"}, nil, func(f Fault) bool {
			return map[string]string{"gap": "feed", "data_loss": "redis", "terminate": "postgres"}[f.Kind] == f.Target
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := wide(7)
			r.Kinds, r.Targets = tt.kinds, tt.targets
			plan, errs := RandomPlan(r, tt.reach)
			if errs != nil {
				t.Fatalf("RandomPlan: %v", errs)
			}
			for _, f := range plan {
				if !tt.ok(f) {
					t.Errorf("drew %s on %s", f.Kind, f.Target)
				}
			}
			if errs := ValidateFaults(plan, tt.reach); errs != nil {
				t.Errorf("the plan does not fit the run: %v", errs)
			}
		})
	}
}

func TestRandomPlanRefuses(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Random)
		reach Reach
		want  string
	}{
		{"no count", func(r *Random) { r.Count = 0 }, FullReach(), "count must be from 1 to 100"},
		{"for reversed", func(r *Random) { r.MinFor, r.MaxFor = 5*time.Second, time.Second }, FullReach(), "min_for (5s) must not be negative nor above max_for (1s)"},
		{"span too short", func(r *Random) { r.Until = 5 * time.Second }, FullReach(), "must hold max_for"},
		{"unknown kind", func(r *Random) { r.Kinds = []string{"meteor"} }, FullReach(), `kind "meteor" is unknown`},
		{"unknown target", func(r *Random) { r.Targets = []string{"kafka"} }, FullReach(), `target "kafka" is unknown`},
		// Nothing asked for can act in this run: kill needs process control.
		{"nothing fits", func(r *Random) { r.Kinds = []string{"kill"} }, Reach{Links: allLinks}, "none of the kinds kill can act on any of the targets"},
		// Three kills of at least 4s cannot fit in 10s without overlapping.
		{"cannot place", func(r *Random) {
			r.Kinds, r.Count, r.MinFor, r.MaxFor, r.Until = []string{"kill"}, 3, 4*time.Second, 4*time.Second, 10*time.Second
		}, FullReach(), "cannot be placed without overlapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := wide(1)
			tt.edit(&r)
			plan, errs := RandomPlan(r, tt.reach)
			if plan != nil || len(errs) == 0 || !strings.Contains(errs[0].Error(), tt.want) {
				t.Errorf("RandomPlan = %v, %v; want an error containing %q", plan, errs, tt.want)
			}
		})
	}
}

func mustKind(f Fault) Kind {
	k, _, _ := newKind(f.Kind, f.Params)
	return k
}

func fmtPlan(p []Fault) string {
	var b strings.Builder
	for _, f := range p {
		b.WriteString(f.Name + f.At.String() + f.For.String() + ";")
	}
	return b.String()
}
