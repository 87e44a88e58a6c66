package platform_test

import (
	"encoding/json"
	"testing"

	"github.com/inplaylabs/inplay/platform"
)

func TestParseOdds(t *testing.T) {
	happy := []struct {
		in   string
		want platform.Odds
		str  string
	}{
		{"2.10", 21000, "2.1"},          // trailing zeros are allowed, and dropped when printed
		{"2", 20000, "2"},               // no fraction
		{"1.01", 10100, "1.01"},         // the lowest odds
		{"1000", 10000000, "1000"},      // the highest odds
		{"1000.0000", 10000000, "1000"}, // the longest valid form
		{"3.1415", 31415, "3.1415"},     // four fractional digits
		{"10.05", 100500, "10.05"},      // an inner zero stays
	}
	for _, tt := range happy {
		t.Run(tt.in, func(t *testing.T) {
			got, err := platform.ParseOdds(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || got.String() != tt.str {
				t.Fatalf("ParseOdds(%q) = %d %q, want %d %q", tt.in, got, got.String(), tt.want, tt.str)
			}
		})
	}
	sad := []struct {
		in  string
		why string
	}{
		{"", "empty"},
		{"1.00", "below 1.01"},
		{"1.0099", "below 1.01 by a hair"},
		{"1000.0001", "above 1000"},
		{"2.12345", "five fractional digits"},
		{"2.", "a dot with no fraction"},
		{".5", "no integer part"},
		{"-2", "a sign"},
		{"+2", "a sign"},
		{"2e1", "an exponent"},
		{" 2", "a space"},
		{"02.5", "a leading zero"},
		{"2,5", "a comma"},
		{"1.5.1", "two dots"},
		{"NaN", "not a number"},
		{"99999999999999999999", "too long"},
	}
	for _, tt := range sad {
		t.Run(tt.why, func(t *testing.T) {
			if got, err := platform.ParseOdds(tt.in); platform.ErrorCode(err) != platform.EINVALID {
				t.Fatalf("ParseOdds(%q) = %v, %v; want EINVALID", tt.in, got, err)
			}
		})
	}
}

func TestOddsJSON(t *testing.T) {
	var v struct {
		Odds platform.Odds `json:"odds"`
	}
	if err := json.Unmarshal([]byte(`{"odds":"2.50"}`), &v); err != nil || v.Odds != 25000 {
		t.Fatalf("unmarshal = %v, %v", v.Odds, err)
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) != `{"odds":"2.5"}` {
		t.Fatalf("marshal = %s, %v", b, err)
	}
	if err := json.Unmarshal([]byte(`{"odds":2.5}`), &v); err == nil {
		t.Fatal("a JSON number was accepted as odds; odds must be exact strings")
	}
	if err := json.Unmarshal([]byte(`{"odds":"0.5"}`), &v); err == nil {
		t.Fatal("odds below 1.01 were accepted")
	}
}

func FuzzParseOdds(f *testing.F) {
	for _, s := range []string{"2.1", "1.01", "1000", "1000.0000", "2.12345", "02", "", "1e3", "3.1415"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := platform.ParseOdds(s)
		if err != nil {
			if platform.ErrorCode(err) != platform.EINVALID {
				t.Fatalf("ParseOdds(%q) error without EINVALID: %v", s, err)
			}
			return
		}
		if !o.Valid() {
			t.Fatalf("ParseOdds(%q) = %d, outside the range", s, o)
		}
		// The canonical form parses back to the same value, and is stable.
		back, err := platform.ParseOdds(o.String())
		if err != nil || back != o || back.String() != o.String() {
			t.Fatalf("round trip of %q: %q → %d, %v", s, o.String(), back, err)
		}
	})
}
