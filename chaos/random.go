package chaos

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// rng is the random source of random plans: splitmix64, written out here so
// that a seed expands to the same plan on every Go version and machine (a
// scenario's seed is a contract).
type rng struct{ state uint64 }

// newRNG seeds a source.
func newRNG(seed int64) *rng { return &rng{state: uint64(seed)} }

// next returns the next 64 random bits.
func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// between returns a number in [lo, hi], lo <= hi.
func (r *rng) between(lo, hi int64) int64 {
	span := uint64(hi-lo) + 1
	if span == 0 { // the whole int64 range
		return int64(r.next())
	}
	// Rejection sampling keeps every value equally likely.
	limit := ^uint64(0) - ^uint64(0)%span
	for {
		if v := r.next(); v < limit {
			return lo + int64(v%span)
		}
	}
}

// pick returns one of choices.
func (r *rng) pick(choices ...string) string {
	return choices[r.between(0, int64(len(choices)-1))]
}

// Random asks for a plan drawn from a seed: Count faults of Kinds on
// Targets, each lasting MinFor to MaxFor, starting at or after From and
// healed by Until (offsets from the replay's start).
type Random struct {
	Seed           int64
	Count          int
	Kinds          []string // empty: every kind that can draw its own params
	Targets        []string // empty: every target
	MinFor, MaxFor time.Duration
	From, Until    time.Duration
}

// MaxRandomFaults bounds a random plan: more faults than this in one run
// would test the harness's patience, not the platform.
const MaxRandomFaults = 100

// randomTries bounds the draws for one fault that must not overlap another
// of its exclusion group.
const randomTries = 100

// RandomPlan expands r into a plan. It is a pure function of r, reach and
// the registered kinds: the same seed gives the same plan. Only pairs of a
// kind and a target that ValidateFaults accepts for reach are drawn, so the
// plan fits the run it is drawn for; faults are named
// random-N-KIND-TARGET, in order of their draw. A kind is drawn first, each
// with the same chance, then one of its targets; its params are drawn by the
// kind, and times are whole milliseconds. The plan passes ValidateFaults
// for reach, or RandomPlan returns every problem that keeps it from it.
func RandomPlan(r Random, reach Reach) ([]Fault, []error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, inputf("random plan: "+format, args...))
	}
	if r.Count < 1 || r.Count > MaxRandomFaults {
		bad("count must be from 1 to %d, not %d", MaxRandomFaults, r.Count)
	}
	if r.MinFor < 0 || r.MaxFor < r.MinFor {
		bad("min_for (%s) must not be negative nor above max_for (%s)", r.MinFor, r.MaxFor)
	}
	if r.From < 0 || r.Until-r.From < r.MaxFor {
		bad("from %s to until %s must not be negative and must hold max_for (%s)", r.From, r.Until, r.MaxFor)
	}
	kinds := slices.Clone(r.Kinds)
	if len(kinds) == 0 {
		kinds = Kinds()
	}
	targets := slices.Clone(r.Targets)
	if len(targets) == 0 {
		targets = Targets
	}
	for _, t := range targets {
		if !slices.Contains(Targets, t) {
			bad("target %q is unknown; use one of %s", t, strings.Join(Targets, ", "))
		}
	}
	// The pairs that fit the run, in a stable order.
	var drawable []string
	on := map[string][]string{}
	for _, name := range slices.Compact(slices.Sorted(slices.Values(kinds))) {
		k, problems, ok := newKind(name, nil)
		if !ok {
			bad("kind %q is unknown; use one of %s", name, strings.Join(Kinds(), ", "))
			continue
		}
		if _, ok := k.(sampler); !ok && len(problems) > 0 {
			if len(r.Kinds) > 0 {
				bad("kind %s cannot be drawn: it needs params (%s)", name, strings.Join(problems, "; "))
			}
			continue
		}
		for _, t := range Targets {
			if slices.Contains(targets, t) && checkTarget(k, name, t, reach) == nil {
				on[name] = append(on[name], t)
			}
		}
		if len(on[name]) > 0 {
			drawable = append(drawable, name)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if len(drawable) == 0 {
		return nil, []error{inputf("random plan: none of the kinds %s can act on any of the targets %s in this run",
			strings.Join(kinds, ", "), strings.Join(targets, ", "))}
	}

	src := newRNG(r.Seed)
	plan := make([]Fault, 0, r.Count)
	const milli = int64(time.Millisecond)
	for i := 1; i <= r.Count; i++ {
		placed := false
		for range randomTries {
			kind := drawable[src.between(0, int64(len(drawable)-1))]
			ts := on[kind]
			f := Fault{Kind: kind, Target: ts[src.between(0, int64(len(ts)-1))]}
			f.Name = fmt.Sprintf("random-%d-%s-%s", i, f.Kind, f.Target)
			if k, _, _ := newKind(kind, nil); k != nil {
				if s, ok := k.(sampler); ok {
					f.Params = s.sampleParams(src)
				}
			}
			f.For = time.Duration(src.between(int64(r.MinFor)/milli, int64(r.MaxFor)/milli) * milli)
			f.At = time.Duration(src.between(int64(r.From)/milli, int64(r.Until-f.For)/milli) * milli)
			if len(overlaps(append(plan, f))) == 0 {
				plan = append(plan, f)
				placed = true
				break
			}
		}
		if !placed {
			return nil, []error{inputf("random plan: fault %d of %d cannot be placed without overlapping another it must not; "+
				"widen from and until, shorten max_for or lower count", i, r.Count)}
		}
	}
	if errs := ValidateFaults(plan, reach); errs != nil {
		return nil, errs
	}
	return plan, nil
}
