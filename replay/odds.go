package replay

import (
	"fmt"
	"strconv"
	"strings"
)

// Odds bounds of capture format v1, in units of 0.0001 (odds × 10000), the
// same unit as the ledger's odds_e4 column.
const (
	MinOddsE4 int64 = 10100    // 1.01
	MaxOddsE4 int64 = 10000000 // 1000
)

// ParseOdds parses exact decimal odds such as "2.5" or "1.9125" into units of
// 0.0001 (25000, 19125). It accepts only plain decimals, with no sign, no
// exponent, no leading zeros and at most four fractional digits, between 1.01
// and 1000 inclusive: a float never gets near a price.
func ParseOdds(s string) (int64, error) {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || !digits(intPart) || (hasDot && (frac == "" || !digits(frac))) {
		return 0, fmt.Errorf("odds %q: not a plain decimal number", s)
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return 0, fmt.Errorf("odds %q: leading zero", s)
	}
	if len(frac) > 4 {
		return 0, fmt.Errorf("odds %q: more than 4 fractional digits", s)
	}
	if len(intPart) > 7 {
		return 0, fmt.Errorf("odds %q: above 1000", s)
	}
	whole, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("odds %q: %w", s, err)
	}
	e4 := whole * 10000
	scale := int64(1000)
	for _, c := range frac {
		e4 += int64(c-'0') * scale
		scale /= 10
	}
	if e4 < MinOddsE4 || e4 > MaxOddsE4 {
		return 0, fmt.Errorf("odds %q: outside 1.01 to 1000", s)
	}
	return e4, nil
}

// digits reports whether s is made only of ASCII digits.
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FactorScale is the unit of a settlement factor (a result's dead_heat and
// void_factor): parts per 10000, the unit of odds_e4, so "0.5" is 5000.
const FactorScale int64 = 10000

// ParseFactor parses a settlement factor, an exact decimal between 0 and 1
// with at most four fractional digits ("0.5", "0.3333", "1"), into parts per
// FactorScale. It refuses 0: a factor of nothing is said by leaving the
// field out (no void) or by not naming the selection a winner.
func ParseFactor(s string) (int64, error) {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if (intPart != "0" && intPart != "1") || (hasDot && (frac == "" || !digits(frac))) {
		return 0, fmt.Errorf("factor %q: not a decimal between 0 and 1, like \"0.5\"", s)
	}
	if len(frac) > 4 {
		return 0, fmt.Errorf("factor %q: more than 4 fractional digits", s)
	}
	e4 := int64(intPart[0]-'0') * FactorScale
	scale := FactorScale / 10
	for _, c := range frac {
		e4 += int64(c-'0') * scale
		scale /= 10
	}
	if e4 <= 0 || e4 > FactorScale {
		return 0, fmt.Errorf("factor %q: outside (0, 1]", s)
	}
	return e4, nil
}
