package reports

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// goodInput is a run that passes: the consistent fixture without its
// dropped request (a run with one is invalid), and a met objective.
func goodInput() Input {
	j, l := fixture()
	j = slices.DeleteFunc(j, func(e replay.JournalEntry) bool { return e.Outcome == replay.OutcomeDropped })
	return Input{
		ScenarioName: "unit", Seed: 7, RunID: "unit_1", StartedAt: t0, Wall: 20 * time.Second,
		Speed: 4, Headroom: 1.3, Journal: j, Ledger: l, Reconcile: true,
		Objectives: []Objective{{Metric: MetricBetAcceptance, Stat: "p99", Limit: 250}},
	}
}

func TestEvaluateExitCodePrecedence(t *testing.T) {
	breachSLO := func(in *Input) { in.Objectives[0].Limit = 1 } // latencies are 5 ms
	dropOne := func(in *Input) {
		in.Journal = append(in.Journal, replay.JournalEntry{Kind: replay.KindBet, ID: "late", IntendedUS: 1, Outcome: replay.OutcomeDropped})
	}
	breakLedger := func(in *Input) { in.Ledger.Accounts[0].Balance++ }
	tests := []struct {
		name    string
		mutate  func(in *Input)
		code    int
		verdict string
		problem string // substring of some problem ("" = no problems)
	}{
		{"everything holds", func(in *Input) {}, 0, VerdictPass, ""},
		{"an SLO breached", breachSLO, 1, VerdictFail, ""},
		{"a dropped request makes the run invalid, over an SLO breach", func(in *Input) { breachSLO(in); dropOne(in) }, 5, VerdictInvalid, "1 of 16 planned requests were dropped"},
		{"schedule lag beyond the bound is invalid", func(in *Input) {
			for i := range in.Journal {
				in.Journal[i].SentUS = in.Journal[i].IntendedUS + 60_000
			}
		}, 5, VerdictInvalid, "exceeds the 50ms bound"},
		{"a larger lag bound accepts the same lag", func(in *Input) {
			for i := range in.Journal {
				in.Journal[i].SentUS = in.Journal[i].IntendedUS + 60_000
			}
			in.MaxScheduleLag = 100 * time.Millisecond
		}, 0, VerdictPass, ""},
		{"reconciliation wins over everything", func(in *Input) { breachSLO(in); dropOne(in); breakLedger(in) }, 2, VerdictFail, "dropped"},
		{"reconciliation wins over an SLO breach", func(in *Input) { breachSLO(in); breakLedger(in) }, 2, VerdictFail, ""},
		{"reconciliation off ignores the ledger", func(in *Input) { breakLedger(in); in.Reconcile = false }, 0, VerdictPass, ""},
		{"reconciliation without a ledger is invalid", func(in *Input) { in.Ledger = nil }, 5, VerdictInvalid, "no ledger was read"},
		{"an empty journal is invalid", func(in *Input) { in.Journal, in.Ledger = nil, &Ledger{} }, 5, VerdictInvalid, "journal is empty"},
		{"an empty journal with no objectives is invalid", func(in *Input) { in.Journal, in.Ledger, in.Objectives = nil, nil, nil; in.Reconcile = false }, 5, VerdictInvalid, "journal is empty"},
		{"an unmeasurable objective fails, never passes", func(in *Input) {
			in.Objectives = append(in.Objectives, Objective{Metric: MetricQuoteLatency, Stat: "p99", Limit: 100})
		}, 1, VerdictFail, "not measured yet"},
		{"a drain timeout is reported", func(in *Input) { in.DrainTimedOut = true }, 0, VerdictPass, "drain timed out"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := goodInput()
			tc.mutate(&in)
			r := Evaluate(in)
			if r.ExitCode != tc.code || r.Verdict != tc.verdict {
				t.Fatalf("exit %d verdict %s, want %d %s; problems %v, slos %+v", r.ExitCode, r.Verdict, tc.code, tc.verdict, r.Problems, r.SLOs)
			}
			if tc.problem == "" && len(r.Problems) > 0 {
				t.Fatalf("unexpected problems %v", r.Problems)
			}
			if tc.problem != "" && !strings.Contains(strings.Join(r.Problems, "\n"), tc.problem) {
				t.Fatalf("problems %v lack %q", r.Problems, tc.problem)
			}
			if r.Schema != Schema || r.SLOs == nil || r.Invariants == nil || r.Faults == nil || r.Problems == nil {
				t.Fatalf("report not filled in: %+v", r)
			}
		})
	}
}

func TestEvaluateLoad(t *testing.T) {
	in := goodInput()
	in.Journal = append(in.Journal, replay.JournalEntry{Kind: replay.KindBet, ID: "late", IntendedUS: 1, Outcome: replay.OutcomeDropped})
	in.Journal[0].SentUS = in.Journal[0].IntendedUS + 2000 // one late send: p99 of 15 samples is the worst
	r := Evaluate(in)
	want := Load{
		Planned: 16, Sent: 15, Dropped: 1, RatePerS: 0.75, ScheduleLagP99MS: 2,
		Bets: BetCount{Sent: 8, Accepted: 5, Rejected: 1, Unknown: 2},
	}
	if r.Load != want {
		t.Fatalf("load %+v\nwant %+v", r.Load, want)
	}
	if r.Run.ID != "unit_1" || r.Run.WallS != 20 || r.Scenario.Seed != 7 || !r.Run.StartedAt.Equal(t0) {
		t.Fatalf("run %+v scenario %+v", r.Run, r.Scenario)
	}
	if len(r.Invariants) != 12 {
		t.Fatalf("%d invariants", len(r.Invariants))
	}
}
