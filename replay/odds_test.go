package replay

import "testing"

func TestParseOdds(t *testing.T) {
	happy := []struct {
		name string
		in   string
		want int64
	}{
		{"lowest odds allowed", "1.01", 10100},
		{"highest odds allowed", "1000", 10000000},
		{"one fractional digit", "2.5", 25000},
		{"four fractional digits", "1.9125", 19125},
		{"trailing zeros are exact", "3.4000", 34000},
		{"whole number", "7", 70000},
	}
	for _, tc := range happy {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseOdds(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("ParseOdds(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
	sad := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"below 1.01", "1.009"},
		{"evens minus a hair", "1.0099"},
		{"above 1000", "1000.0001"},
		{"far above 1000", "123456789012345678901234567890"},
		{"five fractional digits", "2.12345"},
		{"sign", "+2.5"},
		{"negative", "-2.5"},
		{"exponent", "2e1"},
		{"trailing dot", "2."},
		{"leading dot", ".5"},
		{"leading zero", "02.5"},
		{"spaces", " 2.5"},
		{"fraction as float notation", "2,5"},
		{"two dots", "2.5.1"},
	}
	for _, tc := range sad {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := ParseOdds(tc.in); err == nil {
				t.Fatalf("ParseOdds(%q) = %d, want an error", tc.in, got)
			}
		})
	}
}

func FuzzParseOdds(f *testing.F) {
	for _, s := range []string{"1.01", "2.5", "1000", "1.9125", "0.5", "abc", "2.12345"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e4, err := ParseOdds(s)
		if err != nil {
			return
		}
		if e4 < MinOddsE4 || e4 > MaxOddsE4 {
			t.Fatalf("ParseOdds(%q) = %d, outside the bounds", s, e4)
		}
	})
}

func TestParseFactor(t *testing.T) {
	happy := []struct {
		in   string
		want int64
	}{
		{"0.5", 5000},    // half: a two-way dead heat
		{"0.3333", 3333}, // a third, to four digits
		{"1", 10000},     // whole
		{"1.0000", 10000},
		{"0.0001", 1}, // the smallest share
	}
	for _, tc := range happy {
		t.Run(tc.in, func(t *testing.T) {
			if got, err := ParseFactor(tc.in); err != nil || got != tc.want {
				t.Fatalf("ParseFactor(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
	for _, in := range []string{"", "0", "0.0", "1.0001", "2", ".5", "0.", "0.33333", "-0.5", "0,5", "00.5", "5e-1", " 0.5"} {
		t.Run("sad "+in, func(t *testing.T) {
			if got, err := ParseFactor(in); err == nil {
				t.Fatalf("ParseFactor(%q) = %d, want an error", in, got)
			}
		})
	}
}

func FuzzParseFactor(f *testing.F) {
	for _, s := range []string{"0.5", "1", "0.0001", "0", "1.5", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e4, err := ParseFactor(s)
		if err != nil {
			return
		}
		if e4 <= 0 || e4 > FactorScale {
			t.Fatalf("ParseFactor(%q) = %d, outside (0, %d]", s, e4, FactorScale)
		}
	})
}
