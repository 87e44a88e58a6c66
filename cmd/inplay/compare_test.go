package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/reports"
)

const goldenReport = "../../reports/testdata/golden.report.json"

// writeReport renders r as report.json in a new folder and returns its path.
func writeReport(t *testing.T, r *reports.Report) string {
	t.Helper()
	paths, err := reports.WriteAll(t.TempDir(), r)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if filepath.Base(p) == "report.json" {
			return p
		}
	}
	t.Fatal("no report.json written")
	return ""
}

func TestCompareCmd(t *testing.T) {
	// A much faster baseline: every observed value a tenth of the golden's.
	fast, err := reports.ReadReport(goldenReport)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range fast.SLOs {
		if s.Observed != nil {
			v := *s.Observed / 10
			fast.SLOs[i].Observed = &v
		}
	}
	fastPath := writeReport(t, fast)
	other, _ := reports.ReadReport(goldenReport)
	other.Scenario.Name = "soak"
	otherPath := writeReport(t, other)
	notReport := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(notReport, []byte(`{"verdict":"pass"}`), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"itself", []string{goldenReport, goldenReport}, exitPass, []string{"no regressions", "bet_acceptance"}, nil},
		{"against a much faster baseline", []string{fastPath, goldenReport}, exitSLO,
			[]string{"REGRESSION", "bet_acceptance all p99: 31.2447ms → 312.447ms (+900.0%"}, nil},
		{"a looser bound lets it through", []string{fastPath, goldenReport, "--max-regression", "1000%"}, exitPass, []string{"no regressions"}, nil},
		{"json", []string{fastPath, goldenReport, "--json"}, exitSLO, []string{`"regressed": true`, `"max_regression_pct": 10`}, nil},
		{"not a report", []string{notReport, goldenReport}, exitInput, nil, []string{"is not a report.json"}},
		{"missing file", []string{"nope.json", goldenReport}, exitInput, nil, []string{"nope.json"}},
		{"different scenarios", []string{otherPath, goldenReport}, exitInput, nil, []string{`different scenarios ("soak" and "smoke")`, "--any-scenario"}},
		{"different scenarios allowed", []string{otherPath, goldenReport, "--any-scenario"}, exitPass, []string{"no regressions"}, nil},
		{"bad bound", []string{goldenReport, goldenReport, "--max-regression", "ten"}, exitInput, nil, []string{`--max-regression: "ten" is not a percentage`}},
		{"one file", []string{goldenReport}, exitInput, nil, []string{"accepts 2 arg(s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"compare"}, tt.args...), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}

	// --json is the Comparison itself.
	var stdout, stderr bytes.Buffer
	run([]string{"compare", fastPath, goldenReport, "--json"}, &stdout, &stderr)
	var c reports.Comparison
	if err := json.Unmarshal(stdout.Bytes(), &c); err != nil || !c.Regressed() {
		t.Fatalf("--json: %v, %+v", err, c)
	}
}
