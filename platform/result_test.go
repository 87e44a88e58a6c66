package platform_test

import (
	"testing"

	"github.com/inplaylabs/inplay/platform"
)

func TestParseFactor(t *testing.T) {
	for in, want := range map[string]platform.Factor{"0.5": 5000, "0.3333": 3333, "1": 10000, "1.0": 10000, "0.0001": 1} {
		if got, err := platform.ParseFactor(in); err != nil || got != want {
			t.Errorf("ParseFactor(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "0.0000", "1.0001", "2", ".5", "0.", "0.33333", "-0.5", "0,5", "00.5", "5e-1", "1.00000"} {
		if got, err := platform.ParseFactor(in); platform.ErrorCode(err) != platform.EINVALID {
			t.Errorf("ParseFactor(%q) = %d, %v; want EINVALID", in, got, err)
		}
	}
}

func FuzzParseFactor(f *testing.F) {
	for _, s := range []string{"0.5", "1", "0.0001", "0", "1.5", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := platform.ParseFactor(s)
		if err != nil {
			if platform.ErrorCode(err) != platform.EINVALID {
				t.Fatalf("error without EINVALID: %v", err)
			}
			return
		}
		if got <= 0 || got > platform.FactorScale {
			t.Fatalf("ParseFactor(%q) = %d, outside (0, 1]", s, got)
		}
	})
}

func TestResultValidate(t *testing.T) {
	ok := []platform.Result{
		{},
		{Winners: []string{"a", "b"}, DeadHeat: map[string]platform.Factor{"a": 5000, "b": 5000}, VoidFactor: 2500, Rollbacks: 3},
	}
	for _, r := range ok {
		if err := r.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", r, err)
		}
	}
	bad := []platform.Result{
		{Winners: []string{"a"}, DeadHeat: map[string]platform.Factor{"b": 5000}}, // not a winner
		{Winners: []string{"a"}, DeadHeat: map[string]platform.Factor{"a": 0}},    // no share
		{Winners: []string{"a"}, VoidFactor: 10001},                               // above 1
		{VoidFactor: 5000},                      // on a void result
		{Winners: []string{"a"}, Rollbacks: -1}, // negative generation
		{Winners: []string{"a", "a"}},           // twice
	}
	for _, r := range bad {
		if err := r.Validate(); platform.ErrorCode(err) != platform.EINVALID {
			t.Errorf("Validate(%+v) = %v, want EINVALID", r, err)
		}
	}
}
