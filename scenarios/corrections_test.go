package scenarios

import (
	"path/filepath"
	"testing"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/reports"
)

// TestCatalogCorrections runs corrections.yaml end to end: it must pass
// with no invariant failing, and its ledger must show what the scenario is
// for: rollbacks, a dead-heated win and a void factor's refund. Every market
// ends resettled, so invariant 11 compares settled with settled: the hot
// state between the rollback and the resettlement is the settlement
// package's test's (TestResult) to check.
func TestCatalogCorrections(t *testing.T) {
	r := runCatalog(t, "corrections", nil)
	if r.rep.ExitCode != 0 || r.rep.Verdict != "pass" {
		t.Errorf("exit %d, verdict %s, problems %v", r.rep.ExitCode, r.rep.Verdict, r.rep.Problems)
	}
	for _, s := range r.rep.SLOs {
		if !s.Pass {
			t.Errorf("objective %s %s %s: observed %s, note %q", s.Metric, s.Phase, s.Objective, observed(s), s.Note)
		}
	}
	if len(r.rep.Invariants) == 0 {
		t.Error("no invariant in the report")
	}
	for _, inv := range r.rep.Invariants {
		if inv.Failed() || inv.Violations != 0 {
			t.Errorf("invariant %s: %d violations %+v", inv.Name, inv.Violations, inv.Witnesses)
		}
	}
	if inv := r.invariant(reports.InvHotStateMatches); inv.Status != reports.StatusPass {
		t.Errorf("invariant %s is %s (%s), want it checked and passing", inv.Name, inv.Status, inv.Note)
	}
	if r.rep.Load.Bets.Accepted == 0 {
		t.Fatalf("no bet accepted: %+v", r.rep.Load.Bets)
	}

	// The feed's standing result of each market: the journal's last.
	standing := map[string]replay.JournalEntry{}
	feedRollbacks := 0
	for _, e := range r.journal {
		switch e.Kind {
		case replay.KindResult:
			standing[e.Market] = e
		case replay.KindRollback:
			feedRollbacks++
		}
	}
	l, err := reports.OpenJSONLLedger(filepath.Join(r.out, "ledger.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	rollbacks := 0
	for _, tx := range l.Transactions {
		if tx.Kind == reports.TxRollback {
			rollbacks++
		}
	}
	deadHeats, refunds, won := 0, 0, 0
	for _, b := range l.Bets {
		res := standing[b.Market]
		switch b.Status {
		case reports.BetWon:
			won++
			// A dead heat alone (no void factor) pays less than the odds.
			if res.DeadHeat[b.Selection] != "" && res.VoidFactor == "" && b.Payout < b.Stake*b.OddsE4/10000 {
				deadHeats++
			}
		case reports.BetLost:
			// Only a void factor pays a lost bet anything: its refund.
			if res.VoidFactor != "" && b.Payout > 0 {
				refunds++
			}
		}
	}
	t.Logf("bets %d (won %d), feed rollbacks %d, ledger rollback transactions %d, dead-heated wins %d, void-factor refunds %d",
		len(l.Bets), won, feedRollbacks, rollbacks, deadHeats, refunds)
	if feedRollbacks == 0 || rollbacks == 0 {
		t.Errorf("%d rollbacks sent, %d rollback transactions booked; want both", feedRollbacks, rollbacks)
	}
	if deadHeats == 0 {
		t.Error("no won bet paid at a dead heat")
	}
	if refunds == 0 {
		t.Error("no lost bet refunded by a void factor")
	}
}
