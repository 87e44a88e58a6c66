package platform

import (
	"maps"
	"slices"
	"strings"
)

// Factor is a settlement factor (a dead-heat factor, a void factor) in parts
// per FactorScale: 5000 is one half. An exact decimal, like Odds, so no
// float touches a payout.
type Factor int64

// FactorScale is a whole factor: 1.
const FactorScale Factor = 10000

// ParseFactor parses a factor given as an exact decimal above 0 and at most
// 1, with at most four fractional digits ("0.5", "0.3333", "1"), as the feed
// protocol carries it. Returns EINVALID.
func ParseFactor(s string) (Factor, error) {
	intPart, frac, hasDot := strings.Cut(s, ".")
	switch {
	case len(s) > 6: // "1.0000" is the longest valid form
		return 0, Errorf(EINVALID, "factor %.20q is too long", s)
	case intPart != "0" && intPart != "1", hasDot && (frac == "" || !allDigits(frac)):
		return 0, Errorf(EINVALID, "factor %q is not a decimal between 0 and 1", s)
	case len(frac) > 4:
		return 0, Errorf(EINVALID, "factor %q has more than 4 fractional digits", s)
	}
	f := Factor(intPart[0]-'0') * FactorScale
	scale := FactorScale / 10
	for _, c := range frac {
		f += Factor(c-'0') * scale
		scale /= 10
	}
	if f <= 0 || f > FactorScale {
		return 0, Errorf(EINVALID, "factor %q is outside (0, 1]", s)
	}
	return f, nil
}

// Result is a market's result as the feed gives it, with the corrections
// real feeds carry (Sportradar's bet_settlement): which selections won, the
// share of the win a dead-heated winner pays, and the share of every stake
// that is void and refunded (a partial void). docs/ledger.md turns it into
// payouts.
type Result struct {
	Winners []string // no winners voids the market
	// DeadHeat gives a winner's dead-heat factor; a winner it does not name
	// has factor 1. Only winners may be named.
	DeadHeat map[string]Factor
	// VoidFactor is the share of every stake refunded (0: none). A void
	// result (no winners) takes none: it refunds every stake whole.
	VoidFactor Factor
	// Rollbacks is the market's settlement generation: how many rollbacks
	// of its settlement the feed sent before this result. A result of an
	// older generation than the ledger's market is stale and changes
	// nothing; one of a newer generation rolls the settlement it supersedes
	// back first.
	Rollbacks int64
}

// Void reports whether r voids the market.
func (r Result) Void() bool { return len(r.Winners) == 0 }

// DeadHeatOf is selection's dead-heat factor: FactorScale (1) unless r
// names another.
func (r Result) DeadHeatOf(selection string) Factor {
	if f, ok := r.DeadHeat[selection]; ok {
		return f
	}
	return FactorScale
}

// Validate checks r: valid ids, no winner twice, dead-heat factors only for
// winners, factors in (0, 1], no void factor on a void result and a
// generation that is not negative. Returns EINVALID naming every problem.
func (r Result) Validate() error {
	var problems []string
	for i, w := range r.Winners {
		if err := CheckID(w); err != nil {
			problems = append(problems, "winner "+err.Error())
		} else if slices.Contains(r.Winners[:i], w) {
			problems = append(problems, "winner "+w+" is named twice")
		}
	}
	for _, sel := range slices.Sorted(maps.Keys(r.DeadHeat)) {
		f := r.DeadHeat[sel]
		if !slices.Contains(r.Winners, sel) {
			problems = append(problems, "dead_heat names "+sel+", which is not a winner")
		}
		if f <= 0 || f > FactorScale {
			problems = append(problems, "dead_heat of "+sel+" is outside (0, 1]")
		}
	}
	if r.VoidFactor < 0 || r.VoidFactor > FactorScale {
		problems = append(problems, "void_factor is outside (0, 1]")
	} else if r.VoidFactor > 0 && r.Void() {
		problems = append(problems, "void_factor on a void result (no winners), which refunds every stake whole")
	}
	if r.Rollbacks < 0 {
		problems = append(problems, "rollbacks is negative")
	}
	if len(problems) > 0 {
		return Errorf(EINVALID, "result: %s", strings.Join(problems, "; "))
	}
	return nil
}
