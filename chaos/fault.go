package chaos

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"
)

// Fault is one scheduled fault from the scenario.
type Fault struct {
	Name   string
	Target string         // a link (redis, postgres, api, feed, stream) or a process (platform)
	Kind   string         // a registered kind (Kinds): a toxic, down, a process, store or feed fault
	At     time.Duration  // wall offset from the replay start
	For    time.Duration  // how long until healed
	Params map[string]any // from YAML, e.g. {latency: "200ms", jitter: "20ms"} or {rate: 100}
}

// plannedKinds are part of the scenario language but not implemented yet:
// they are named so that a scenario using them gets "not supported yet"
// rather than "unknown".
var plannedKinds []string

// ProcessTarget is the target of the process faults: the system under test.
const ProcessTarget = "platform"

// Targets are every target a fault can name: the links of Hops, then the
// platform's process.
var Targets = append(slices.Clone(LinkTargets), ProcessTarget)

// Reach is what one run lets faults act on. ValidateFaults checks a plan
// against it; Env.Reach says what a run has, FullReach what a run of the
// reference platform can have.
type Reach struct {
	Links     []string // the Layer's links
	Processes []string // the processes under control, e.g. "platform"
	Stores    bool     // the run can take its own data away from its stores
	Feed      bool     // the run's feed server can alter its stream
	Answers   bool     // the run can lose the platform's answers (ack_lost)
}

// Reach says what env lets faults act on: a nil field, nothing.
func (e Env) Reach() Reach {
	r := Reach{Stores: e.Stores != nil, Feed: e.Feed != nil, Answers: e.Answers != nil}
	if e.Layer != nil {
		r.Links = e.Layer.Links()
	}
	r.Processes = slices.Sorted(maps.Keys(e.Processes))
	return r
}

// FullReach is everything a run of the reference platform has: a link on
// every hop, its process, its stores and the harness's feed server. A
// scenario is checked against it when it is loaded, and against the run's
// own Env.Reach once the run has set up.
func FullReach() Reach {
	return Reach{Links: slices.Clone(LinkTargets), Processes: []string{ProcessTarget}, Stores: true, Feed: true, Answers: true}
}

// ValidateFaults checks a fault plan against what a run reaches, and
// returns every problem at once, each a sentence naming its fault: a missing
// or duplicate name, an unknown target or one the kind cannot act on or
// the run does not have, an unknown kind, bad, missing or unknown params, a
// negative at or for, and overlapping faults that cannot overlap. It
// returns nil for a good plan. Each error is a *herr.Error with code EINPUT.
func ValidateFaults(faults []Fault, reach Reach) []error {
	var errs []error
	add := func(name, format string, args ...any) {
		errs = append(errs, inputf("fault %s: %s", name, fmt.Sprintf(format, args...)))
	}
	first := map[string]int{}
	for i, f := range faults {
		name := fmt.Sprintf("%q", f.Name)
		if f.Name == "" {
			name = fmt.Sprintf("#%d", i+1)
			add(name, "has no name")
		} else if j, dup := first[f.Name]; dup {
			add(name, "is defined twice (faults #%d and #%d); names must be unique", j+1, i+1)
		} else {
			first[f.Name] = i
		}

		knownTarget := false
		switch {
		case f.Target == "":
			add(name, "has no target; use one of %s", strings.Join(Targets, ", "))
		case !slices.Contains(Targets, f.Target):
			add(name, "target %q is unknown; use one of %s", f.Target, strings.Join(Targets, ", "))
		default:
			knownTarget = true
		}

		if f.At < 0 {
			add(name, "at must not be negative, not %s", f.At)
		}
		if f.For < 0 {
			add(name, "for must not be negative, not %s", f.For)
		}

		if f.Kind == "" {
			add(name, "has no kind; use one of %s", strings.Join(Kinds(), ", "))
			continue
		}
		if slices.Contains(plannedKinds, f.Kind) {
			add(name, "kind %s is not supported yet; use one of %s", f.Kind, strings.Join(Kinds(), ", "))
			continue
		}
		k, problems, ok := newKind(f.Kind, f.Params)
		if !ok {
			add(name, "kind %q is unknown; use one of %s", f.Kind, strings.Join(Kinds(), ", "))
			continue
		}
		if knownTarget {
			if err := checkTarget(k, f.Kind, f.Target, reach); err != nil {
				add(name, "%s", err.Error())
			}
		}
		for _, problem := range problems {
			add(name, "%s", problem)
		}
	}
	errs = append(errs, overlaps(faults)...)
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// checkTarget checks that kind k can act on target in a run that reaches
// r. A kind that does not check its own target may act on anything the run
// has.
func checkTarget(k Kind, kind, target string, r Reach) *herr.Error {
	if t, ok := k.(targeter); ok {
		return t.checkTarget(target, r)
	}
	if slices.Contains(r.Links, target) || slices.Contains(r.Processes, target) {
		return nil
	}
	return inputf("target %s is not in this run (links: %s; processes: %s)", target, orNone(r.Links), orNone(r.Processes))
}

// overlaps reports faults of the same exclusion group whose windows overlap
// on the same target.
func overlaps(faults []Fault) []error {
	var errs []error
	group := make([]string, len(faults))
	for i, f := range faults {
		if k, _, ok := newKind(f.Kind, f.Params); ok {
			if x, ok := k.(excluder); ok {
				group[i] = x.exclusionGroup()
			}
		}
	}
	for i, a := range faults {
		if group[i] == "" {
			continue
		}
		for j, b := range faults[:i] {
			if group[j] != group[i] || b.Target != a.Target {
				continue
			}
			if a.At <= b.At+b.For && b.At <= a.At+a.For {
				errs = append(errs, inputf(
					"fault %q: overlaps fault %q (%s on %s from %s to %s); %s",
					a.Name, b.Name, b.Kind, a.Target, b.At, b.At+b.For, overlapWhy(group[i])))
			}
		}
	}
	return errs
}

// overlapWhy says why faults of a group cannot overlap.
func overlapWhy(group string) string {
	switch group {
	case groupProcess:
		return "one process cannot be killed, paused or restarted while another of these is on it"
	case groupFeed:
		return "the feed server alters its stream one way at a time"
	}
	return "the first to heal would undo the other"
}

// orNone lists names, or says there are none.
func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
