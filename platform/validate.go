package platform

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// problems collects every problem with an input, so a caller learns all of
// them from one EINVALID error instead of fixing one at a time.
type problems []string

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

// id checks an identifier: required, at most MaxIDLen bytes, printable
// UTF-8 with no spaces, so ids are safe in URLs, logs and Redis keys.
func (p *problems) id(field, s string) {
	if err := CheckID(s); err != nil {
		p.add("%s %s", field, err)
	}
}

// amount checks a deposit's, withdrawal's or cash-out's amount: positive
// and at most MaxAmount minor units.
func (p *problems) amount(a int64) {
	switch {
	case a <= 0:
		p.add("amount must be positive, not %d", a)
	case a > MaxAmount:
		p.add("amount %d is above %d", a, int64(MaxAmount))
	}
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return Errorf(EINVALID, "%s", strings.Join(p, "; "))
}

// CheckID returns why s is not a valid id (a description starting with a
// verb, to follow the field name), or nil. Every id, whether of a bet,
// account, market or selection, follows the same rule.
func CheckID(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("is required")
	case len(s) > MaxIDLen:
		return fmt.Errorf("is longer than %d bytes", MaxIDLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("%q holds a space or control character", s)
		}
	}
	return nil
}

// ValidateID returns an EINVALID error when s is not a valid id for field.
func ValidateID(field, s string) error {
	if err := CheckID(s); err != nil {
		return Errorf(EINVALID, "%s %s", field, err)
	}
	return nil
}
