package scenarios

import (
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// TestCatalogInPlayDelay runs in-play-delay.yaml end to end: in-play bets
// go pending and are decided after their market's delay from the feed,
// pre-match ones at once, some end rejected by what happened during the
// delay, and the run passes with no violation and no bet left pending.
func TestCatalogInPlayDelay(t *testing.T) {
	r := runCatalog(t, "in-play-delay", nil)
	var pending, atOnce, decidedLate int
	rejected := map[string]int{}
	for _, e := range r.journal {
		if e.Kind != replay.KindBet || e.DoneUS == 0 {
			continue
		}
		if e.PendingUS > 0 {
			pending++
			// Decided no earlier than the 1 s delay after it went pending.
			if e.DoneUS-e.PendingUS >= int64(900*time.Millisecond/time.Microsecond) {
				decidedLate++
			}
			if e.Outcome == replay.OutcomeRejected {
				rejected[e.Code]++
			}
		} else if e.Outcome == replay.OutcomeAccepted && e.DoneUS-e.IntendedUS < int64(200*time.Millisecond/time.Microsecond) {
			atOnce++
		}
	}
	t.Logf("bets pending %d (decided after the delay %d), pre-match decided at once %d, rejected after the delay %v", pending, decidedLate, atOnce, rejected)
	if r.rep.ExitCode != 0 {
		t.Errorf("exit %d, verdict %s, problems %v", r.rep.ExitCode, r.rep.Verdict, r.rep.Problems)
	}
	for _, s := range r.rep.SLOs {
		if !s.Pass {
			t.Errorf("objective %s %s %s: observed %s, note %q", s.Metric, s.Phase, s.Objective, observed(s), s.Note)
		}
	}
	for _, inv := range r.rep.Invariants {
		if inv.Failed() {
			t.Errorf("invariant %s: %d violations %+v", inv.Name, inv.Violations, inv.Witnesses)
		}
	}
	if pending < 100 || decidedLate*10 < pending*9 {
		t.Errorf("%d bets went pending, %d decided after their delay; want most in-play bets pending and decided after it", pending, decidedLate)
	}
	if atOnce == 0 {
		t.Error("no pre-match bet was decided at once")
	}
	if rejected["EMARKETSUSPENDED"]+rejected["EPRICECHANGED"] == 0 {
		t.Errorf("no pending bet ended rejected (%v): the delay decided nothing", rejected)
	}
}
