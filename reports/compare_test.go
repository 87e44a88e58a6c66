package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// compareReport is a small passing report: two latency objectives, an
// error rate and two invariants, with the load figures compare shows.
func compareReport(p99, maxFault, errRate float64) *Report {
	return &Report{
		Schema: Schema, Verdict: VerdictPass, ExitCode: ExitPass,
		Scenario: ScenarioRef{Name: "smoke", Seed: 7},
		Run:      RunInfo{ID: "run-a"},
		Load: Load{Planned: 1000, Sent: 1000, RatePerS: 100, ScheduleLagP99MS: 0.4,
			Bets: BetCount{Sent: 800, Accepted: 700, Rejected: 90, Unknown: 10}},
		SLOs: []SLOResult{
			{Metric: MetricBetAcceptance, Phase: PhaseAll, Stat: "p99", Objective: "p99 <= 250ms", Observed: ptr(p99), Unit: UnitMS, Pass: true},
			{Metric: MetricBetAcceptance, Phase: "fault:redis-slow", Stat: "max", Objective: "max <= 1s", Observed: ptr(maxFault), Unit: UnitMS, Pass: true},
			{Metric: MetricErrorRate, Phase: PhaseAll, Stat: "max", Objective: "max <= 1%", Observed: ptr(errRate), Unit: UnitPercent, Pass: true},
		},
		Invariants: []Invariant{{Name: InvDoubleEntry, Pass: true}, {Name: InvUnknownResolved, Pass: true}},
	}
}

func TestCompare(t *testing.T) {
	base := compareReport(20, 300, 0)
	tests := []struct {
		name    string
		next    *Report
		opt     CompareOptions
		regress []string // each regression sentence, by prefix; none: no regression
	}{
		// A run compared with itself has nothing worse.
		{"itself", compareReport(20, 300, 0), DefaultCompareOptions(), nil},
		// 20 → 22 ms is exactly 10% worse: within the bound.
		{"at the bound", compareReport(22, 300, 0), DefaultCompareOptions(), nil},
		// 20 → 22.5 ms is 12.5% and 2.5 ms worse.
		{"past the bound", compareReport(22.5, 300, 0), DefaultCompareOptions(), []string{"bet_acceptance all p99: 20ms → 22.5ms (+12.5%"}},
		// The zero options are the strictest: any worsening at all.
		{"strictest", compareReport(20.001, 300, 0), CompareOptions{}, []string{"bet_acceptance all p99: 20ms → 20.001ms (+0.0%"}},
		// A looser bound lets it through.
		{"past a tighter bound only", compareReport(22.5, 300, 0), CompareOptions{MaxRegressionPct: 15, FloorMS: 1, FloorPct: 0.1}, nil},
		// Faster is never a regression.
		{"faster", compareReport(5, 100, 0), DefaultCompareOptions(), nil},
		// The fault window's max and the error rate regress on their own.
		{"fault window and errors", compareReport(20, 900, 0.5), DefaultCompareOptions(),
			[]string{"bet_acceptance fault:redis-slow max: 300ms → 900ms (+200.0%", "error_rate all max: 0% → 0.5% (from nothing"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compare(base, tc.next, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Regressions) != len(tc.regress) {
				t.Fatalf("regressions %q, want %d", c.Regressions, len(tc.regress))
			}
			for i, w := range tc.regress {
				if !strings.HasPrefix(c.Regressions[i], w) {
					t.Errorf("regression %d = %q, want it to start %q", i, c.Regressions[i], w)
				}
			}
			if c.Regressed() != (len(tc.regress) > 0) {
				t.Errorf("Regressed() = %v", c.Regressed())
			}
		})
	}
}

func TestCompareFloors(t *testing.T) {
	tests := []struct {
		name       string
		base, next *Report
		regressed  bool
	}{
		// 0.2 → 0.3 ms is 50% worse but 0.1 ms: below the 1 ms floor.
		{"tiny latency", compareReport(0.2, 300, 0), compareReport(0.3, 300, 0), false},
		// 0.2 → 1.3 ms is 1.1 ms worse: past the floor and the bound.
		{"latency past the floor", compareReport(0.2, 300, 0), compareReport(1.3, 300, 0), true},
		// 0% → 0.05% is one request in two thousand: below the 0.1 point floor.
		{"tiny error rate", compareReport(20, 300, 0), compareReport(20, 300, 0.05), false},
		// 0.5% → 0.61% is 0.11 points and 22% worse.
		{"error rate past the floor", compareReport(20, 300, 0.5), compareReport(20, 300, 0.61), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compare(tc.base, tc.next, DefaultCompareOptions())
			if err != nil {
				t.Fatal(err)
			}
			if c.Regressed() != tc.regressed {
				t.Fatalf("regressed %v, want %v: %q", c.Regressed(), tc.regressed, c.Regressions)
			}
		})
	}
}

func TestCompareInvariantsAndMissing(t *testing.T) {
	base := compareReport(20, 300, 0)
	next := compareReport(20, 300, 0)
	next.Invariants[0] = Invariant{Name: InvDoubleEntry, Pass: false, Violations: 3}
	next.Invariants = append(next.Invariants, Invariant{Name: "new_check", Pass: false})
	next.SLOs[1].Observed = nil // no samples in the fault window now
	next.SLOs = append(next.SLOs, SLOResult{Metric: MetricSettlementLag, Phase: PhaseAll, Stat: "p99", Observed: ptr(5), Unit: UnitMS})
	c, err := Compare(base, next, DefaultCompareOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"bet_acceptance fault:redis-slow max: measured 300ms in the base, no samples now",
		"invariant double_entry: passed in the base, fails now (3 violations)",
	}
	if strings.Join(c.Regressions, "\n") != strings.Join(want, "\n") {
		t.Fatalf("regressions %q, want %q", c.Regressions, want)
	}
	// What only one run has is listed, not judged.
	if last := c.SLOs[len(c.SLOs)-1]; last.Only != "new" || last.Regressed {
		t.Errorf("settlement_lag only in the new run: %+v", last)
	}
	if last := c.Invariants[len(c.Invariants)-1]; last.Name != "new_check" || last.Base != "" || last.Regressed {
		t.Errorf("an invariant the base did not check: %+v", last)
	}
}

func TestCompareRefuses(t *testing.T) {
	other := compareReport(20, 300, 0)
	other.Scenario.Name = "soak"
	if _, err := Compare(compareReport(20, 300, 0), other, DefaultCompareOptions()); err == nil || !strings.Contains(err.Error(), `different scenarios ("smoke" and "soak")`) {
		t.Fatalf("different scenarios: %v", err)
	}
	if _, err := Compare(compareReport(20, 300, 0), other, CompareOptions{AnyScenario: true}); err != nil {
		t.Fatalf("different scenarios, allowed: %v", err)
	}
	if _, err := Compare(compareReport(20, 300, 0), other, CompareOptions{MaxRegressionPct: -1, AnyScenario: true}); err == nil {
		t.Fatal("a negative bound was taken")
	}
}

func TestCompareNotes(t *testing.T) {
	next := compareReport(20, 300, 0)
	next.Load.RatePerS = 50
	next.Verdict, next.ExitCode = VerdictInvalid, ExitInvalid
	c, err := Compare(compareReport(20, 300, 0), next, DefaultCompareOptions())
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(c.Notes, "\n")
	for _, w := range []string{"the new run is invalid (exit 5)", "the send rates differ by more than 10% (100.0/s and 50.0/s)"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q: %q", w, c.Notes)
		}
	}
	// rate_per_s is the first load figure: 100 → 50 is −50%.
	if l := c.Load[0]; l.Name != "rate_per_s" || l.ChangePct == nil || *l.ChangePct != -50 {
		t.Errorf("load %+v", l)
	}
}

func TestCompareText(t *testing.T) {
	c, err := Compare(compareReport(20, 300, 0), compareReport(40, 300, 0), DefaultCompareOptions())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, w := range []string{"bet_acceptance", "20ms", "40ms", "+100.0%", "REGRESSION", "rate_per_s", "double_entry", "1 regression(s):"} {
		if !strings.Contains(out, w) {
			t.Errorf("text lacks %q:\n%s", w, out)
		}
	}
}

func TestReadReport(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "a.json")
	otherSchema := filepath.Join(dir, "b.json")
	_ = os.WriteFile(notJSON, []byte("<html>"), 0o644)
	_ = os.WriteFile(otherSchema, []byte(`{"schema":"something/v9"}`), 0o644)
	for path, want := range map[string]string{
		notJSON:                      "is not a report.json",
		otherSchema:                  `its schema is "something/v9"`,
		filepath.Join(dir, "absent"): "no such file",
	} {
		if _, err := ReadReport(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
	}
	r, err := ReadReport(filepath.Join("testdata", "golden.report.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compare(r, r, DefaultCompareOptions())
	if err != nil || c.Regressed() {
		t.Fatalf("the golden report against itself: %v %q", err, c.Regressions)
	}
}
