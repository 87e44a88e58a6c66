package bettors

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Config shapes a bettor population.
type Config struct {
	// Seed: the same seed and source give the same bytes.
	Seed int64
	// Bettors is the population: accounts {Prefix}a1 .. {Prefix}a{Bettors}.
	// Not all of them bet in a short capture: activity is heavy-tailed.
	Bettors int
	// Rate is the mean number of bet decisions (a bet or a cash-out) per
	// bettor per hour while a market is in play, at the base rate: bursts
	// add to it, and pre-match markets take PreMatch of it. Per bettor and
	// per hour, so that the load scales with Bettors and a capture's
	// length, whatever its number of markets.
	Rate float64
	// MaxStake caps one stake, in minor units.
	MaxStake int64
	// PolicyMix is the share of bettors on each price policy; the zero
	// value means DefaultPolicyMix.
	PolicyMix PolicyMix
	// Prefix starts every account and id the overlay makes, used as is
	// ("" is allowed). A bettor event of the source whose account or id
	// starts with it is an error, so the two can never collide.
	Prefix string
	// PreMatch is the pre-match base rate as a fraction of the in-play
	// one (0 to 1); 0 means DefaultPreMatch.
	PreMatch float64
}

// PolicyMix is the percentage of bettors whose bets carry each price
// policy (replay.PolicyExact, PolicyBetter, PolicyAny); the three sum to
// 100. A bettor's policy is a setting of their account, so all their bets
// carry the same one.
type PolicyMix struct {
	Exact, Better, Any int
}

// DefaultPolicyMix is the mix when none is given: see the package doc for
// where its shares come from.
var DefaultPolicyMix = PolicyMix{Exact: 60, Better: 25, Any: 15}

// DefaultPreMatch is Config.PreMatch when none is given: see the package
// doc for how it is derived.
const DefaultPreMatch = 0.03

// Bounds of a Config.
const (
	MaxBettors = 10_000_000
	MaxRate    = 3600 // one decision a second per bettor, at the base
	// MaxPrefix bounds Config.Prefix, in bytes: the longest id the overlay
	// makes is then well within the platform's 128 bytes, headroom
	// clones' suffixes included.
	MaxPrefix = 32
)

// Validate returns every problem with c, one sentence each.
func (c Config) Validate() []error {
	var errs []error
	if c.Bettors < 1 || c.Bettors > MaxBettors {
		errs = append(errs, fmt.Errorf("bettors is %d; it must be between 1 and %d", c.Bettors, MaxBettors))
	}
	if !(c.Rate > 0 && c.Rate <= MaxRate) {
		errs = append(errs, fmt.Errorf("rate is %v; it must be above 0 and at most %d (bets per bettor per in-play hour)", c.Rate, MaxRate))
	}
	if c.MaxStake < 1 {
		errs = append(errs, fmt.Errorf("max stake is %d; it must be at least 1 (minor units)", c.MaxStake))
	}
	if err := c.PolicyMix.check(); err != nil {
		errs = append(errs, err)
	}
	if err := CheckPrefix(c.Prefix); err != nil {
		errs = append(errs, err)
	}
	if !(c.PreMatch >= 0 && c.PreMatch <= 1) || math.IsNaN(c.PreMatch) {
		errs = append(errs, fmt.Errorf("pre-match rate is %v; it must be between 0 and 1 (a fraction of the in-play rate)", c.PreMatch))
	}
	return errs
}

func (m PolicyMix) check() error {
	if m == (PolicyMix{}) {
		return nil
	}
	if m.Exact < 0 || m.Better < 0 || m.Any < 0 || m.Exact+m.Better+m.Any != 100 {
		return fmt.Errorf("policy mix is exact %d, better %d, any %d; each must be at least 0 and they must sum to 100", m.Exact, m.Better, m.Any)
	}
	return nil
}

// CheckPrefix returns why p cannot start the overlay's ids, or nil: at
// most MaxPrefix bytes of printable UTF-8 with no space, the platform's
// rule for ids (platform.CheckID).
func CheckPrefix(p string) error {
	if len(p) > MaxPrefix {
		return fmt.Errorf("prefix %q is longer than %d bytes", p, MaxPrefix)
	}
	if !utf8.ValidString(p) {
		return fmt.Errorf("prefix %q is not valid UTF-8", p)
	}
	if strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
		return fmt.Errorf("prefix %q holds a space or control character", p)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.PolicyMix == (PolicyMix{}) {
		c.PolicyMix = DefaultPolicyMix
	}
	if c.PreMatch == 0 {
		c.PreMatch = DefaultPreMatch
	}
	return c
}
