package scenarios

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/replay/betfair"
)

// sharedBetfair is ../shared/data/betfair beside the repository; the test
// skips, saying so, when it is absent.
func sharedBetfair(t *testing.T) string {
	t.Helper()
	data, err := filepath.Abs(filepath.Join("..", "..", "shared", "data", "betfair"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(data); err != nil {
		t.Skipf("the shared Betfair data is not here (%v); it lives in ../shared/data beside the repository", err)
	}
	return data
}

// TestCricketWithBettors is issue 6's end-to-end proof on a real recording:
// the Betfair cricket match (its odds and its score feed, from ten minutes
// before the off to the result, about four hours) imported, a seeded bettor
// population overlaid on it, replayed at speed 100 through the reference
// platform, with zero reconciliation violations and the market settled.
func TestCricketWithBettors(t *testing.T) {
	data := sharedBetfair(t)
	so := resolveStack(t)
	dir := t.TempDir()

	imp, err := betfair.Open([]string{
		filepath.Join(data, "cricket-match-odds-1.200806927.jsonl"),
		filepath.Join(data, "cricket-score-feed-1.200806927.jsonl"),
	}, betfair.Options{Name: "cricket", From: "inplay-10m"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "cricket.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := replay.NewCaptureWriter(f, imp.Header())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Copy(imp); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(imp.Close(), f.Close()); err != nil {
		t.Fatal(err)
	}

	scenario := filepath.Join(dir, "cricket.yaml")
	if err := os.WriteFile(scenario, []byte(`name: cricket-with-bettors
seed: 11
load:
  capture: cricket.jsonl
  bettors: {count: 300, rate: 20, max_stake: 20000}
  speed: 100
  # A shared 2-core machine: this test is about a real recording reaching
  # the platform and reconciling; a harness stall must not make it invalid.
  max_schedule_lag: 1s
slos:
  - {metric: error_rate, max: 0%}
reconcile: strict
drain: 30s
`), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := LoadFile(scenario)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	res, err := Run(ctx, sc, Options{OutDir: filepath.Join(dir, "out"), Stack: so, PlatformBinary: platformBinary})
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	t.Logf("exit %d in %.0fs wall: load %+v, bets %+v", rep.ExitCode, rep.Run.WallS, rep.Load, rep.Load.Bets)
	for _, inv := range rep.Invariants {
		if inv.Failed() {
			t.Errorf("invariant %s: %d violations %+v", inv.Name, inv.Violations, inv.Witnesses)
		}
	}
	if len(rep.Invariants) == 0 {
		t.Error("no invariant was checked")
	}
	if rep.ExitCode != 0 {
		t.Errorf("exit %d, verdict %s, problems %v, slos %+v", rep.ExitCode, rep.Verdict, rep.Problems, rep.SLOs)
	}
	if rep.Load.Bets.Accepted < 1000 {
		t.Errorf("only %d bets accepted of %+v: the overlay did not load the match", rep.Load.Bets.Accepted, rep.Load.Bets)
	}
}
