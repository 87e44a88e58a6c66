package chaos

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Fault is one scheduled fault from the scenario.
type Fault struct {
	Name   string
	Target string         // redis, postgres, api, feed, stream, platform
	Kind   string         // toxiproxy toxic name (latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data) or down
	At     time.Duration  // wall offset from the replay start
	For    time.Duration  // how long until healed
	Params map[string]any // from YAML, e.g. {latency: "200ms", jitter: "20ms"} or {rate: 100}
}

// plannedTargets and plannedKinds are part of the scenario language but not
// implemented yet: they are named so that a scenario using them gets "not
// supported yet" rather than "unknown".
var (
	plannedTargets = []string{"platform"}
	plannedKinds   = []string{"kill", "restart", "dropout", "duplicate", "reorder", "gap", "stale", "malformed", "burst"}
)

// ValidateFaults checks a fault plan against the links a run has, and
// returns every problem at once, each a sentence naming its fault: a missing
// or duplicate name, an unknown or unlinked target, an unknown kind, bad,
// missing or unknown params, a negative at or for, and overlapping faults
// that cannot overlap. It returns nil for a good plan. Each error is an
// *Error with code EINVALID, EUNSUPPORTED, ENOTFOUND or ECONFLICT.
func ValidateFaults(faults []Fault, links []string) []error {
	var errs []error
	add := func(code, name, format string, args ...any) {
		errs = append(errs, errorf(code, "fault %s: %s", name, fmt.Sprintf(format, args...)))
	}
	first := map[string]int{}
	for i, f := range faults {
		name := fmt.Sprintf("%q", f.Name)
		if f.Name == "" {
			name = fmt.Sprintf("#%d", i+1)
			add(EINVALID, name, "has no name")
		} else if j, dup := first[f.Name]; dup {
			add(ECONFLICT, name, "is defined twice (faults #%d and #%d); names must be unique", j+1, i+1)
		} else {
			first[f.Name] = i
		}

		switch {
		case f.Target == "":
			add(EINVALID, name, "has no target; use one of %s", strings.Join(LinkTargets, ", "))
		case slices.Contains(plannedTargets, f.Target):
			add(EUNSUPPORTED, name, "target %s is not supported yet; faults can target %s", f.Target, strings.Join(LinkTargets, ", "))
		case !slices.Contains(LinkTargets, f.Target):
			add(EINVALID, name, "target %q is unknown; use one of %s", f.Target, strings.Join(LinkTargets, ", "))
		case !slices.Contains(links, f.Target):
			add(ENOTFOUND, name, "target %s has no chaos link in this run (linked: %s)", f.Target, orNone(links))
		}

		if f.At < 0 {
			add(EINVALID, name, "at must not be negative, not %s", f.At)
		}
		if f.For < 0 {
			add(EINVALID, name, "for must not be negative, not %s", f.For)
		}

		switch {
		case f.Kind == "":
			add(EINVALID, name, "has no kind; use one of %s", strings.Join(Kinds(), ", "))
		case slices.Contains(plannedKinds, f.Kind):
			add(EUNSUPPORTED, name, "kind %s is not supported yet; use one of %s", f.Kind, strings.Join(Kinds(), ", "))
		default:
			k, ok := newKind(f.Kind)
			if !ok {
				add(EINVALID, name, "kind %q is unknown; use one of %s", f.Kind, strings.Join(Kinds(), ", "))
				break
			}
			p := NewParams(f.Params)
			k.Configure(p)
			for _, problem := range p.Problems() {
				add(EINVALID, name, "%s", problem)
			}
		}
	}
	errs = append(errs, overlaps(faults)...)
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// overlaps reports faults of an exclusive kind whose windows overlap on the
// same target.
func overlaps(faults []Fault) []error {
	var errs []error
	for i, a := range faults {
		ka, ok := newKind(a.Kind)
		if _, excl := ka.(exclusive); !ok || !excl {
			continue
		}
		for _, b := range faults[:i] {
			if b.Kind != a.Kind || b.Target != a.Target {
				continue
			}
			if a.At <= b.At+b.For && b.At <= a.At+a.For {
				errs = append(errs, errorf(ECONFLICT,
					"fault %q: overlaps fault %q (%s on %s from %s to %s); the first to heal would undo the other",
					a.Name, b.Name, a.Kind, a.Target, b.At, b.At+b.For))
			}
		}
	}
	return errs
}

// orNone lists names, or says there are none.
func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
