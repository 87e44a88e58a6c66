package platform

import (
	"strconv"
	"strings"
)

// Odds are exact decimal odds in units of 0.0001: Odds(21000) is 2.1. No
// float is involved anywhere, so a payout computed from them is exact.
type Odds int64

// The range of odds the platform accepts: 1.01 to 1000.
const (
	MinOdds Odds = 10100
	MaxOdds Odds = 10000000
)

// oddsScale is the number of Odds units in 1.0.
const oddsScale = 10000

// ParseOdds parses a decimal odds string strictly: digits, optionally a dot
// followed by one to four digits, between 1.01 and 1000. No sign, exponent,
// spaces or leading zeros. It returns an EINVALID error otherwise.
func ParseOdds(s string) (Odds, error) {
	intPart, frac, hasDot := strings.Cut(s, ".")
	switch {
	case s == "":
		return 0, Errorf(EINVALID, "odds are empty")
	case len(s) > 9: // "1000.0000" is the longest valid form
		return 0, Errorf(EINVALID, "odds %.20q are too long", s)
	case intPart == "" || !allDigits(intPart):
		return 0, Errorf(EINVALID, "odds %q are not a decimal number", s)
	case len(intPart) > 1 && intPart[0] == '0':
		return 0, Errorf(EINVALID, "odds %q have a leading zero", s)
	case hasDot && (frac == "" || !allDigits(frac)):
		return 0, Errorf(EINVALID, "odds %q are not a decimal number", s)
	case len(frac) > 4:
		return 0, Errorf(EINVALID, "odds %q have more than 4 fractional digits", s)
	}
	// At most 4 integer digits here, so neither part can overflow.
	whole, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return 0, Errorf(EINVALID, "odds %q are not a decimal number", s)
	}
	var fraction int64
	if frac != "" {
		fraction, _ = strconv.ParseInt(frac+strings.Repeat("0", 4-len(frac)), 10, 64)
	}
	o := Odds(whole*oddsScale + fraction)
	if o < MinOdds || o > MaxOdds {
		return 0, Errorf(EINVALID, "odds %q are outside 1.01 to 1000", s)
	}
	return o, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// OddsFromE4 converts a stored odds_e4 value back into Odds, checking the
// range so a corrupt row cannot slip into a payout.
func OddsFromE4(e4 int64) (Odds, error) {
	o := Odds(e4)
	if !o.Valid() {
		return 0, Errorf(EINVALID, "odds_e4 %d is outside 1.01 to 1000", e4)
	}
	return o, nil
}

// E4 returns the odds in units of 0.0001, as the ledger stores them.
func (o Odds) E4() int64 { return int64(o) }

// Valid reports whether o is within 1.01 to 1000.
func (o Odds) Valid() bool { return o >= MinOdds && o <= MaxOdds }

// String returns the canonical decimal form: no trailing zeros and no
// trailing dot ("2.1", "2", "1.01").
func (o Odds) String() string {
	v := int64(o)
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	s := sign + strconv.FormatInt(v/oddsScale, 10)
	if frac := v % oddsScale; frac != 0 {
		f := strconv.FormatInt(frac+oddsScale, 10)[1:] // zero-padded to 4 digits
		s += "." + strings.TrimRight(f, "0")
	}
	return s
}

// MarshalText encodes odds as their canonical string, so JSON carries them
// as exact strings ("2.1"), never as floats.
func (o Odds) MarshalText() ([]byte, error) {
	return []byte(o.String()), nil
}

// UnmarshalText parses odds with ParseOdds.
func (o *Odds) UnmarshalText(b []byte) error {
	v, err := ParseOdds(string(b))
	if err != nil {
		return err
	}
	*o = v
	return nil
}
