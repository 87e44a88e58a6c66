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
	withFault := func(injected, landed bool, evidence string) func(in *Input) {
		return func(in *Input) {
			in.Faults = []Fault{{Name: "redis-slow", Target: "redis", Kind: "latency", Injected: injected,
				InjectedAtS: 1, HealedAtS: 2, Healed: injected, Landed: landed, Evidence: evidence}}
		}
	}
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
		{"an invalid objective fails, never passes", func(in *Input) {
			in.Objectives = append(in.Objectives, Objective{Metric: "throughput", Stat: "p99", Limit: 100})
		}, 1, VerdictFail, `metric "throughput" is not one of`},
		{"a quote objective without subscribers fails, never passes", func(in *Input) {
			in.Objectives = append(in.Objectives, Objective{Metric: MetricQuoteLatency, Stat: "p99", Limit: 100})
		}, 1, VerdictFail, ""},
		{"a drain timeout is reported", func(in *Input) { in.DrainTimedOut = true }, 0, VerdictPass, "drain timed out"},
		{"a fault that landed passes", withFault(true, true, "p50 redis RTT 201ms"), 0, VerdictPass, ""},
		// A chaos run whose fault did not happen did not test what it claims.
		{"a fault that did not land is invalid", withFault(true, false, "p50 redis RTT +0s; NOT landed"),
			5, VerdictInvalid, `fault "redis-slow" did not land: p50 redis RTT +0s; NOT landed`},
		{"a fault never injected is invalid", withFault(false, false, "not injected: no chaos link"),
			5, VerdictInvalid, `fault "redis-slow" did not land: not injected: no chaos link`},
		// Injected=false wins over a Landed=true that cannot be true.
		{"a fault not injected is invalid even if marked landed", withFault(false, true, ""),
			5, VerdictInvalid, `fault "redis-slow" did not land: no evidence recorded`},
		{"a fault that did not land is invalid over an SLO breach", func(in *Input) { breachSLO(in); withFault(true, false, "x")(in) }, 5, VerdictInvalid, "did not land"},
		{"reconciliation wins over a fault that did not land", func(in *Input) { breakLedger(in); withFault(true, false, "x")(in) }, 2, VerdictFail, "did not land"},
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
	if len(r.Invariants) != len(InvariantNames()) {
		t.Fatalf("%d invariants", len(r.Invariants))
	}
}

// TestEvaluateSLOsIndependentOfReconcile: settlement_lag comes from the
// ledger whether or not reconciliation runs; Reconcile gates only the
// invariants.
func TestEvaluateSLOsIndependentOfReconcile(t *testing.T) {
	// The fixture's results are intended at 15 s (m1) and 16 s (m3); its
	// bets settled at 20 s: lags of 5 s (b1, b2) and 4 s (b4).
	lag := Objective{Metric: MetricSettlementLag, Stat: "max", Limit: 10_000}
	tests := []struct {
		name      string
		reconcile bool
		ledger    bool // whether the ledger was read
		code      int
		samples   int
		invs      int // invariants reported
		problem   string
	}{
		{"reconcile off, ledger read: lag measured, no invariants", false, true, 0, 3, 0, ""},
		{"reconcile on, ledger read: lag measured, invariants checked", true, true, 0, 3, len(InvariantNames()), ""},
		{"reconcile on, no ledger: invalid", true, false, 5, 0, 0, "no ledger was read"},
		// Nothing to measure settlement from: the objective fails, and
		// nothing makes the run invalid.
		{"reconcile off, no ledger: the lag objective fails", false, false, 1, 0, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := goodInput()
			in.Objectives = []Objective{lag}
			in.Reconcile = tc.reconcile
			if !tc.ledger {
				in.Ledger = nil
			}
			r := Evaluate(in)
			if r.ExitCode != tc.code {
				t.Fatalf("exit %d, want %d; problems %v slos %+v", r.ExitCode, tc.code, r.Problems, r.SLOs)
			}
			s := r.SLOs[0]
			if s.Samples != tc.samples {
				t.Fatalf("settlement_lag samples %d, want %d: %+v", s.Samples, tc.samples, s)
			}
			// 5 s, kept by HDR to 3 significant figures: its bucket's top.
			if tc.samples > 0 && (s.Observed == nil || *s.Observed != 5001.215 || !s.Pass) {
				t.Fatalf("settlement_lag %+v (observed %v), want a pass observing 5001.215 ms", s, observedText(s))
			}
			if len(r.Invariants) != tc.invs || len(failing(r.Invariants)) != 0 {
				t.Fatalf("%d invariants (failing %v), want %d, none failing", len(r.Invariants), failing(r.Invariants), tc.invs)
			}
			if got := strings.Join(r.Problems, "\n"); (tc.problem == "") != (got == "") || !strings.Contains(got, tc.problem) {
				t.Fatalf("problems %q, want %q", got, tc.problem)
			}
		})
	}
}

func TestEvaluateQuotes(t *testing.T) {
	in := goodInput()
	// Two feed updates, received by two subscribers 3 ms after they were
	// sent; one of the subscribers was dropped once.
	in.Journal = append(in.Journal, upd("m1", 1001, sec), upd("m1", 1002, 2*sec))
	var got []rcpt
	for _, e := range in.Journal {
		if (e.Kind == replay.KindOdds || e.Kind == replay.KindStatus) && e.Outcome == replay.OutcomePublished {
			got = append(got, rcpt{e.Market, e.FeedSeq, e.SentUS + 3*ms})
		}
	}
	in.Quotes = observe(in.Wall.Microseconds(), always(got...), always(got...))
	in.Quotes.Subscribers[1].Disconnects = 1
	in.Quotes.Subscribers[1].DecodeErrors = 2
	in.Objectives = append(in.Objectives, Objective{Metric: MetricQuoteLatency, Stat: "p99", Limit: 10}, Objective{Metric: MetricOddsStaleness, Stat: "max", Limit: 10})
	r := Evaluate(in)
	if want := (QuoteCount{Subscribers: 2, Received: int64(2 * len(got)), Disconnects: 1}); r.Load.Quotes != want {
		t.Errorf("load.quotes %+v, want %+v", r.Load.Quotes, want)
	}
	if r.ExitCode != ExitPass {
		t.Errorf("exit %d, slos %+v", r.ExitCode, r.SLOs)
	}
	for _, s := range r.SLOs[1:] {
		if !s.Pass || s.Samples == 0 {
			t.Errorf("slo %+v", s)
		}
	}
	if !slices.ContainsFunc(r.Problems, func(p string) bool { return strings.Contains(p, "2 frames the subscribers could not read") }) {
		t.Errorf("problems %v lack the decode errors", r.Problems)
	}
}

// An interrupted run exits 130 whatever else it found, says so first, and
// still shows what it measured and checked.
func TestEvaluateInterrupted(t *testing.T) {
	in := goodInput()
	in.Interrupted, in.Planned = true, 5000
	in.Ledger.Accounts[0].Balance++ // a broken ledger is still shown, not decided on
	r := Evaluate(in)
	if r.ExitCode != ExitInterrupted || r.Verdict != VerdictInterrupted || !r.Interrupted {
		t.Fatalf("exit %d verdict %s interrupted %v; want 130, interrupted", r.ExitCode, r.Verdict, r.Interrupted)
	}
	if len(r.Problems) == 0 || !strings.Contains(r.Problems[0], "interrupted by a signal after 20s") ||
		!strings.Contains(r.Problems[0], "of 5000 planned") {
		t.Fatalf("first problem %q", r.Problems)
	}
	if r.Load.Planned != 5000 {
		t.Errorf("load.planned %d, want the whole plan's 5000", r.Load.Planned)
	}
	failed := slices.ContainsFunc(r.Invariants, func(i Invariant) bool { return !i.Pass })
	if !failed || len(r.SLOs) == 0 {
		t.Errorf("the measured part is not shown: invariants %v, slos %v", r.Invariants, r.SLOs)
	}
}
