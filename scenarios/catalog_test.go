package scenarios

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/reports"
)

// TestCatalogValid loads every catalog scenario strictly.
func TestCatalogValid(t *testing.T) {
	files, err := filepath.Glob("catalog/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no catalog scenarios: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := LoadFile(f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCatalogQuotes runs quotes.yaml end to end: it must pass, with samples
// in both quote objectives, and its fault on the stream link must land.
func TestCatalogQuotes(t *testing.T) {
	so := resolveStack(t)
	sc, err := LoadFile("catalog/quotes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, sc, Options{OutDir: t.TempDir(), Stack: so, PlatformBinary: platformBinary})
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	if rep.ExitCode != 0 {
		t.Errorf("exit %d, verdict %s, problems %v", rep.ExitCode, rep.Verdict, rep.Problems)
	}
	samples := map[string]int{}
	for _, s := range rep.SLOs {
		samples[s.Metric] += s.Samples
		if !s.Pass {
			t.Errorf("objective %s %s %s: observed %v, note %q", s.Metric, s.Phase, s.Objective, s.Observed, s.Note)
		}
	}
	for _, m := range []string{reports.MetricQuoteLatency, reports.MetricOddsStaleness} {
		if samples[m] == 0 {
			t.Errorf("%s has no samples", m)
		}
	}
	for _, f := range rep.Faults {
		if !f.Landed {
			t.Errorf("fault %s did not land: %s", f.Name, f.Evidence)
		}
	}
	if rep.Load.Quotes.Received == 0 {
		t.Errorf("no quotes received: %+v", rep.Load.Quotes)
	}
}
