package chaos

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Params reads the params of one fault for its Kind. It keeps every problem
// instead of stopping at the first, so that a scenario's author sees them all
// at once, and it reports the params no kind read as unknown: a typo such as
// "jiter" must not silently become a fault without jitter.
//
// Values are what a YAML decoder gives: durations are strings such as
// "200ms", numbers are ints or floats.
type Params struct {
	raw      map[string]any
	read     map[string]bool
	problems []string
}

// NewParams wraps a fault's params for reading; raw may be nil.
func NewParams(raw map[string]any) *Params {
	return &Params{raw: raw, read: make(map[string]bool)}
}

// Problems returns every problem found so far, plus one for each param that
// was never read. Call it after the kind has read all the params it knows.
func (p *Params) Problems() []string {
	out := slices.Clone(p.problems)
	var unknown []string
	for k := range p.raw {
		if !p.read[k] {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		out = append(out, fmt.Sprintf("param %q is unknown for this kind", k))
	}
	return out
}

// problem records one problem with a param.
func (p *Params) problem(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

// get marks key as read and returns its value.
func (p *Params) get(key string) (any, bool) {
	p.read[key] = true
	v, ok := p.raw[key]
	return v, ok
}

// Duration reads the required param key as a duration string such as
// "200ms". The value must not be negative and must be a whole number of
// unit, the precision toxiproxy takes (time.Millisecond for most toxics):
// rounding a scenario's value silently would misstate the fault.
func (p *Params) Duration(key string, unit time.Duration) time.Duration {
	v, ok := p.get(key)
	if !ok {
		p.problem("param %s is missing (a duration such as \"200ms\")", key)
		return 0
	}
	return p.duration(key, v, unit)
}

// DurationOr reads the optional param key like Duration, with def when absent.
func (p *Params) DurationOr(key string, def, unit time.Duration) time.Duration {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	return p.duration(key, v, unit)
}

// Toxic reads the required param key for a toxiproxy toxic: a duration such
// as "200ms", or toxiproxy's own bare number counted in unit (milliseconds
// for latency, jitter, timeout and slow_close's delay; microseconds for
// slicer's delay), because that is what toxiproxy's users write.
func (p *Params) Toxic(key string, unit time.Duration) time.Duration {
	v, ok := p.get(key)
	if !ok {
		p.problem("param %s is missing (a duration such as \"200ms\", or a number of %s)", key, unitName(unit))
		return 0
	}
	return p.toxicDuration(key, v, unit)
}

// ToxicOr reads the optional param key like Toxic, with def when absent.
func (p *Params) ToxicOr(key string, def, unit time.Duration) time.Duration {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	return p.toxicDuration(key, v, unit)
}

// toxicDuration takes a bare whole number as a count of unit, anything else
// as a duration.
func (p *Params) toxicDuration(key string, v any, unit time.Duration) time.Duration {
	if _, isNumber := number(v); !isNumber {
		return p.duration(key, v, unit)
	}
	n, ok := wholeNumber(v)
	if !ok {
		p.problem("param %s must be a whole number of %s (toxiproxy's unit), not %s", key, unitName(unit), describe(v))
		return 0
	}
	if n < 0 {
		p.problem("param %s must not be negative, not %d", key, n)
		return 0
	}
	if n > int64(maxToxicDuration/unit) {
		p.problem("param %s %d %s is more than %s", key, n, unitName(unit), maxToxicDuration)
		return 0
	}
	return time.Duration(n) * unit
}

// maxToxicDuration bounds a toxic's durations: nothing a run does lasts a
// day, and the bound keeps a bare number from overflowing.
const maxToxicDuration = 24 * time.Hour

// unitName names toxiproxy's units in messages.
func unitName(unit time.Duration) string {
	switch unit {
	case time.Millisecond:
		return "milliseconds"
	case time.Microsecond:
		return "microseconds"
	}
	return unit.String() + "s"
}

// SignedDurationOr reads the optional param key as a duration that may be
// negative (a shift of timestamps), with def when absent; a bare number is
// refused.
func (p *Params) SignedDurationOr(key string, def time.Duration) time.Duration {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	d, err := ParseDuration(v)
	if err != nil {
		p.problem("param %s %s", key, err)
		return def
	}
	return d
}

func (p *Params) duration(key string, v any, unit time.Duration) time.Duration {
	d, err := ParseDuration(v)
	if err != nil {
		p.problem("param %s %s", key, err)
		return 0
	}
	if d < 0 {
		p.problem("param %s must not be negative, not %s", key, d)
		return 0
	}
	if d%unit != 0 {
		p.problem("param %s %s is finer than the %s precision toxiproxy takes", key, d, unit)
		return 0
	}
	if d > maxToxicDuration {
		p.problem("param %s %s is more than %s", key, d, maxToxicDuration)
		return 0
	}
	return d
}

// ParseDuration reads a param value as a duration. It takes a duration string
// ("200ms", "1.5s") or a time.Duration. A bare number is refused: in a
// scenario nobody can tell whether 200 means milliseconds or nanoseconds.
func ParseDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case time.Duration:
		return x, nil
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(x))
		if err != nil {
			return 0, fmt.Errorf("must be a duration such as \"200ms\", not %q", x)
		}
		return d, nil
	default:
		if _, ok := number(v); ok {
			return 0, fmt.Errorf("must be a duration with a unit such as \"200ms\", not the bare number %v", v)
		}
		return 0, fmt.Errorf("must be a duration such as \"200ms\", not %s", describe(v))
	}
}

// Int reads the required param key as a whole number in [min, max].
func (p *Params) Int(key string, min, max int64) int64 {
	v, ok := p.get(key)
	if !ok {
		p.problem("param %s is missing (a whole number from %d to %d)", key, min, max)
		return 0
	}
	return p.int(key, v, min, max)
}

// IntOr reads the optional param key like Int, with def when absent.
func (p *Params) IntOr(key string, def, min, max int64) int64 {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	return p.int(key, v, min, max)
}

func (p *Params) int(key string, v any, min, max int64) int64 {
	n, ok := wholeNumber(v)
	if !ok {
		p.problem("param %s must be a whole number, not %s", key, describe(v))
		return 0
	}
	if n < min || n > max {
		p.problem("param %s must be from %d to %d, not %v", key, min, max, v)
		return 0
	}
	return n
}

// wholeNumber converts v to an int64 without losing precision: integers are
// taken as they are, floats only when they have no fraction. A value too
// large for an int64 is refused.
func wholeNumber(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint:
		return int64(x), uint64(x) <= math.MaxInt64
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), x <= math.MaxInt64
	case float32, float64:
		f, _ := number(v)
		// 2^63 is exactly representable; anything at or above it overflows.
		if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

// FloatOr reads the optional param key as a number in (min, max] when
// openMin, else in [min, max], with def when absent.
func (p *Params) FloatOr(key string, def, min, max float64, openMin bool) float64 {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	f, ok := number(v)
	if !ok || math.IsNaN(f) {
		p.problem("param %s must be a number, not %s", key, describe(v))
		return def
	}
	if f > max || f < min || (openMin && f == min) {
		lower := "from"
		if openMin {
			lower = "more than"
		}
		p.problem("param %s must be %s %g and at most %g, not %g", key, lower, min, max, f)
		return def
	}
	return f
}

// ChoiceOr reads the optional param key as one of choices, with def when absent.
func (p *Params) ChoiceOr(key, def string, choices ...string) string {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	s, isString := v.(string)
	if !isString || !slices.Contains(choices, s) {
		p.problem("param %s must be one of %s, not %s", key, strings.Join(choices, ", "), describe(v))
		return def
	}
	return s
}

// number converts the numeric types a YAML or JSON decoder produces.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// describe names a value and its type for an error message.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "an empty value"
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case map[string]any:
		return "a map"
	case []any:
		return "a list"
	}
	if _, ok := number(v); ok {
		return fmt.Sprintf("the number %v", v)
	}
	return fmt.Sprintf("a %T", v)
}
