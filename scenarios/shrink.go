package scenarios

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/inplaylabs/inplay/chaos"
)

// RunPlan runs the scenario being shrunk once more, with plan as its whole
// fault plan, and returns the run's exit code: 0, 1, 2 or 5 when it reached
// a verdict. An error means it reached none (an environment error, exit 4,
// or the context ended). n numbers the runs of one shrink from 1.
type RunPlan func(ctx context.Context, n int, plan []chaos.Fault) (int, error)

// DefaultShrinkRuns bounds a shrink when ShrinkOptions.MaxRuns is 0: enough
// for ddmin to take a plan of eight faults down to one or two, few enough
// that a shrink of one-minute runs ends within a quarter of an hour.
const DefaultShrinkRuns = 16

// ShrinkOptions say what counts as still failing and how much to spend.
type ShrinkOptions struct {
	// Fails is the exit code a run must end with to count as still
	// failing: the original run's, 1 (an SLO breached) or 2
	// (reconciliation failed). Any other code is "does not fail".
	Fails int
	// MaxRuns bounds the runs, retries included; 0 means
	// DefaultShrinkRuns.
	MaxRuns int
	// Observe, when set, is told of every run as it ends (progress).
	Observe func(ShrinkRun)
}

// ShrinkRun is one run of a shrink.
type ShrinkRun struct {
	N        int
	Faults   []string // the plan's fault names, in plan order
	ExitCode int      // the run's exit code; 4 when it reached no verdict
	Err      error    // why it reached no verdict
	Retry    bool     // it repeats the run before, which reached no verdict
	Fails    bool     // it ended with ShrinkOptions.Fails
}

// Shrunk is what a shrink found.
type Shrunk struct {
	// Plan is the smallest plan found that still fails: the original when
	// no smaller one did.
	Plan []chaos.Fault
	// Minimal says Plan is 1-minimal: each plan with one of its faults
	// removed was run and did not fail. A plan of one fault is minimal; a
	// plan of none is never run, since a failure with no faults is not a
	// fault's.
	Minimal bool
	// Bounded says MaxRuns stopped the shrink before Plan was minimal.
	Bounded bool
	// NoVerdict counts candidates that reached no verdict, even on their
	// retry, and so counted as not failing.
	NoVerdict int
	Runs      []ShrinkRun
}

// Shrink finds a small subset of plan that still fails, by delta debugging
// (Zeller's ddmin): it runs the plan's halves, then the plans without one
// half; then quarters and the plans without one quarter; and so on down to
// single faults, keeping the first candidate that still fails and starting
// again from it. plan itself is known to fail (the run being shrunk) and is
// not run again; nor is the empty plan, nor any candidate twice.
//
// A run that reaches no verdict is run once more; if it reaches none again,
// the candidate counts as not failing (Shrunk.NoVerdict), since nothing
// shows it fails. Shrink stops after MaxRuns runs (Shrunk.Bounded). It
// returns an error only when ctx ends, with what it found so far.
func Shrink(ctx context.Context, plan []chaos.Fault, run RunPlan, opts ShrinkOptions) (*Shrunk, error) {
	if opts.MaxRuns <= 0 {
		opts.MaxRuns = DefaultShrinkRuns
	}
	s := &shrinker{plan: plan, run: run, opts: opts, seen: map[string]bool{}}
	c := make([]int, len(plan))
	for i := range c {
		c[i] = i
	}
	s.seen[key(c)] = true
	out := &Shrunk{}
	err := s.ddmin(ctx, &c)
	out.Plan = make([]chaos.Fault, 0, len(c))
	for _, i := range c {
		out.Plan = append(out.Plan, plan[i])
	}
	out.Runs, out.NoVerdict, out.Bounded = s.runs, s.noVerdict, s.bounded
	out.Minimal = err == nil && !s.bounded
	return out, err
}

// shrinker is one shrink's state.
type shrinker struct {
	plan      []chaos.Fault
	run       RunPlan
	opts      ShrinkOptions
	seen      map[string]bool // candidates tested, by key, and whether they failed
	runs      []ShrinkRun
	noVerdict int
	bounded   bool
}

// ddmin narrows *c, the indices of the smallest failing plan so far, until
// it is 1-minimal, the runs are spent, or ctx ends.
func (s *shrinker) ddmin(ctx context.Context, c *[]int) error {
	n := 2
	for len(*c) >= 2 {
		chunks := split(*c, n)
		var next []int
		for _, ch := range chunks {
			fails, err := s.test(ctx, ch)
			if err != nil || s.bounded {
				return err
			}
			if fails {
				next, n = ch, 2
				break
			}
		}
		// With two chunks, each one's complement is the other.
		if next == nil && n > 2 {
			for _, ch := range chunks {
				comp := without(*c, ch)
				fails, err := s.test(ctx, comp)
				if err != nil || s.bounded {
					return err
				}
				if fails {
					next, n = comp, max(n-1, 2)
					break
				}
			}
		}
		switch {
		case next != nil:
			*c = next
		case n >= len(*c):
			return nil // every single fault was tried removed
		default:
			n = min(2*n, len(*c))
		}
	}
	return nil
}

// test runs the candidate (once more when it reaches no verdict) and says
// whether it still fails. It sets bounded instead of running past MaxRuns.
func (s *shrinker) test(ctx context.Context, cand []int) (bool, error) {
	k := key(cand)
	if fails, ok := s.seen[k]; ok {
		return fails, nil
	}
	plan := make([]chaos.Fault, 0, len(cand))
	names := make([]string, 0, len(cand))
	for _, i := range cand {
		plan = append(plan, s.plan[i])
		names = append(names, s.plan[i].Name)
	}
	for attempt := range 2 {
		if len(s.runs) >= s.opts.MaxRuns {
			s.bounded = true
			return false, nil
		}
		r := ShrinkRun{N: len(s.runs) + 1, Faults: names, Retry: attempt > 0}
		code, err := s.run(ctx, r.N, plan)
		if ctx.Err() != nil {
			// An interrupted run says nothing about the candidate.
			return false, ctx.Err()
		}
		r.ExitCode, r.Err = code, err
		if err != nil {
			r.ExitCode = exitEnvCode
		}
		r.Fails = err == nil && code == s.opts.Fails
		s.runs = append(s.runs, r)
		if s.opts.Observe != nil {
			s.opts.Observe(r)
		}
		if err == nil {
			s.seen[k] = r.Fails
			return r.Fails, nil
		}
	}
	s.noVerdict++
	s.seen[k] = false
	return false, nil
}

// exitEnvCode is DESIGN.md's exit code for a run that reached no verdict
// because of its environment.
const exitEnvCode = 4

// split cuts c into n parts of nearly equal size, in order.
func split(c []int, n int) [][]int {
	n = min(n, len(c))
	parts := make([][]int, 0, n)
	start := 0
	for i := range n {
		size := len(c) / n
		if i < len(c)%n {
			size++
		}
		parts = append(parts, c[start:start+size])
		start += size
	}
	return parts
}

// without returns c less the indices in part.
func without(c, part []int) []int {
	out := make([]int, 0, len(c)-len(part))
	for _, i := range c {
		if !slices.Contains(part, i) {
			out = append(out, i)
		}
	}
	return out
}

// key names a candidate; candidates are always in plan order.
func key(c []int) string {
	var b strings.Builder
	for _, i := range c {
		fmt.Fprintf(&b, "%d,", i)
	}
	return b.String()
}
