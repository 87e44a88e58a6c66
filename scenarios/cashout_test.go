package scenarios

import (
	"testing"

	"github.com/inplaylabs/inplay/replay"
)

// TestCatalogCashout runs cash-out.yaml end to end: the generated bettors'
// cash-outs reach the platform, a good number are accepted (paid, the bet
// cashed out once), and the run passes with no reconciliation violation.
func TestCatalogCashout(t *testing.T) {
	r := runCatalog(t, "cash-out", nil)
	outcomes := map[replay.Outcome]int{}
	codes := map[string]int{}
	for _, e := range r.journal {
		if e.Kind == replay.KindCashout {
			outcomes[e.Outcome]++
			if e.Outcome == replay.OutcomeRejected {
				codes[e.Code]++
			}
		}
	}
	t.Logf("cash-outs: %v; refused by code %v", outcomes, codes)
	if r.rep.ExitCode != 0 {
		t.Errorf("exit %d, verdict %s, problems %v", r.rep.ExitCode, r.rep.Verdict, r.rep.Problems)
	}
	for _, s := range r.rep.SLOs {
		if !s.Pass {
			t.Errorf("objective %s %s %s: observed %s, note %q", s.Metric, s.Phase, s.Objective, observed(s), s.Note)
		}
	}
	if len(r.rep.Invariants) == 0 {
		t.Error("no invariant checked")
	}
	for _, inv := range r.rep.Invariants {
		if inv.Failed() || inv.Violations != 0 {
			t.Errorf("invariant %s: %d violations %+v", inv.Name, inv.Violations, inv.Witnesses)
		}
	}
	if r.rep.Load.Bets.Accepted == 0 {
		t.Errorf("no bet accepted: %+v", r.rep.Load.Bets)
	}
	// A handful would show the route works; the claim is that cash-out is
	// a routine part of the load, so ask for a share of what was sent.
	sent := outcomes[replay.OutcomeAccepted] + outcomes[replay.OutcomeRejected] + outcomes[replay.OutcomeUnknown]
	if accepted := outcomes[replay.OutcomeAccepted]; accepted < 20 || accepted*4 < sent {
		t.Errorf("%d of %d cash-outs accepted; want at least 20 and a quarter", accepted, sent)
	}
	// The rest are refused: EPRICECHANGED or EMARKETSUSPENDED when the
	// market moved during the delay, and ENOTFOUND for bets the bettor
	// model took for accepted (it sends open loop, never reading answers)
	// that the platform had refused.
}
