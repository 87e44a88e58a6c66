package reports

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

const sec = int64(time.Second / time.Microsecond)

func TestPhaseOf(t *testing.T) {
	faults := []Fault{
		{Name: "long", Injected: true, InjectedAtS: 10, HealedAtS: 20, Healed: true},     // recovery (20, 30]
		{Name: "blip", Injected: true, InjectedAtS: 50, HealedAtS: 51, Healed: true},     // recovery at least 5 s: (51, 56]
		{Name: "outage", Injected: true, InjectedAtS: 100, HealedAtS: 200, Healed: true}, // recovery at most 30 s: (200, 230]
		{Name: "overlap", Injected: true, InjectedAtS: 22, HealedAtS: 23, Healed: true},  // a fault inside a recovery is a fault
		{Name: "never", InjectedAtS: 300, HealedAtS: 310, Healed: true},                  // not injected: no window, whatever its times say
	}
	// What a fault that never went in records: zero times, never healed.
	notInjected := []Fault{{Name: "redis-slow", Evidence: "not injected: no chaos link"}}
	tests := []struct {
		name   string
		faults []Fault
		at     int64
		want   string
	}{
		{"before any fault", faults, 5 * sec, PhaseSteady},
		{"injection instant is fault", faults, 10 * sec, PhaseFault},
		{"heal instant is still fault", faults, 20 * sec, PhaseFault},
		{"just after heal is recovery", faults, 20*sec + 1, PhaseRecovery},
		{"overlapping fault wins over recovery", faults, 22*sec + sec/2, PhaseFault},
		{"recovery end is inclusive", faults, 30 * sec, PhaseRecovery},
		{"after recovery is steady", faults, 30*sec + 1, PhaseSteady},
		{"short fault recovers for 5 s", faults, 55 * sec, PhaseRecovery},
		{"short fault recovery ends at 5 s", faults, 56*sec + 1, PhaseSteady},
		{"long fault recovery capped at 30 s", faults, 230 * sec, PhaseRecovery},
		{"long fault recovery not longer", faults, 230*sec + 1, PhaseSteady},
		{"not-injected fault has no fault window", faults, 305 * sec, PhaseSteady},
		{"not-injected fault has no recovery window", faults, 315 * sec, PhaseSteady},
		{"not-injected fault is not a fault from 0 to forever", notInjected, 1_000 * sec, PhaseSteady},
		{"not-injected fault at its zero time is steady", notInjected, 0, PhaseSteady},
		{"unhealed fault lasts to the end", []Fault{{Injected: true, InjectedAtS: 1}}, 1_000_000 * sec, PhaseFault},
		{"no faults: all steady", nil, 42 * sec, PhaseSteady},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := newPhaser(tc.faults).phaseOf(tc.at); got != tc.want {
				t.Fatalf("phase at %dµs = %s, want %s", tc.at, got, tc.want)
			}
		})
	}
}

// betAt is a bet journal entry intended at atUS that took latencyUS.
func betAt(atUS, latencyUS int64, o replay.Outcome) replay.JournalEntry {
	return replay.JournalEntry{Kind: replay.KindBet, ID: "b", IntendedUS: atUS, SentUS: atUS, DoneUS: atUS + latencyUS, Outcome: o}
}

func ptr(f float64) *float64 { return &f }

func TestEvaluateObjectives(t *testing.T) {
	// 100 bets of 10, 20, ... 1000 µs: below 2048 µs HDR is exact, so the
	// percentiles are known: p50 = 500 µs, p99 = 990 µs, max = 1000 µs.
	var hundred []replay.JournalEntry
	for i := int64(1); i <= 100; i++ {
		hundred = append(hundred, betAt(i*1000, i*10, replay.OutcomeAccepted))
	}
	// Bets around one fault [10 s, 20 s]: steady, fault, recovery, steady.
	phased := []replay.JournalEntry{
		betAt(5*sec, 100, replay.OutcomeAccepted),
		betAt(15*sec, 2000, replay.OutcomeRejected),
		betAt(25*sec, 500, replay.OutcomeAccepted),
		betAt(40*sec, 300, replay.OutcomeAccepted),
		betAt(41*sec, 900_000, replay.OutcomeUnknown), // timed out: the slowest steady sample
	}
	fault := []Fault{{Name: "f", Injected: true, InjectedAtS: 10, HealedAtS: 20, Healed: true}}
	// 9 fast bets and one that timed out after 2 s (unknown outcome): the
	// timeout is the slowest request, so it is the p99 and the max. HDR
	// keeps 2 s to 3 significant figures: 2000.895 ms is its bucket's top.
	timedOut := slices.Clone(hundred[:9])
	timedOut = append(timedOut, betAt(10*1000, 2_000_000, replay.OutcomeUnknown))
	// An unknown outcome that never got a DoneUS (no latency known) and a
	// dropped bet (never sent) are not acceptance samples.
	noLatency := []replay.JournalEntry{
		betAt(sec, 400, replay.OutcomeAccepted),
		{Kind: replay.KindBet, ID: "u", IntendedUS: 2 * sec, SentUS: 2 * sec, Outcome: replay.OutcomeUnknown},
		{Kind: replay.KindBet, ID: "d", IntendedUS: 3 * sec, Outcome: replay.OutcomeDropped},
	}
	// The same fault plan, but the fault never went in.
	notInjected := []Fault{{Name: "f", InjectedAtS: 0, Evidence: "not injected: no chaos link"}}
	// error_rate: 199 decided requests of every bettor kind, 1 unknown,
	// plus a dropped request and a feed event, which are not "sent".
	var mixed []replay.JournalEntry
	kinds := []replay.Kind{replay.KindBet, replay.KindDeposit, replay.KindWithdraw, replay.KindCashout}
	for i := range 199 {
		mixed = append(mixed, replay.JournalEntry{Kind: kinds[i%4], IntendedUS: int64(i), Outcome: replay.OutcomeAccepted})
	}
	mixed = append(mixed,
		replay.JournalEntry{Kind: replay.KindBet, Outcome: replay.OutcomeUnknown},
		replay.JournalEntry{Kind: replay.KindBet, Outcome: replay.OutcomeDropped},
		replay.JournalEntry{Kind: replay.KindOdds, Outcome: replay.OutcomePublished},
	)
	// settlement_lag: m1's result intended at 10 s; bets settled 1.5 ms
	// and 2 ms after it; a bet on a market with no result is ignored.
	settleJournal := []replay.JournalEntry{{Kind: replay.KindResult, Market: "m1", IntendedUS: 10 * sec, Outcome: replay.OutcomePublished}}
	at := func(us int64) *time.Time { x := t0.Add(time.Duration(us) * time.Microsecond); return &x }
	settleLedger := &Ledger{Bets: []Bet{
		{ID: "x", Market: "m1", Status: BetWon, SettledAt: at(10*sec + 1500)},
		{ID: "y", Market: "m1", Status: BetLost, SettledAt: at(10*sec + 2000)},
		{ID: "z", Market: "m9", Status: BetLost, SettledAt: at(10 * sec)},
		{ID: "w", Market: "m1", Status: BetAccepted},
	}}

	tests := []struct {
		name     string
		obj      Objective
		journal  []replay.JournalEntry
		ledger   *Ledger
		faults   []Fault
		observed *float64
		pass     bool
		samples  int
		note     string // substring the note must hold ("" = empty note)
	}{
		{"p50 from HDR", Objective{MetricBetAcceptance, "", "p50", 1}, hundred, nil, nil, ptr(0.5), true, 100, ""},
		{"p99 from HDR", Objective{MetricBetAcceptance, "all", "p99", 1}, hundred, nil, nil, ptr(0.99), true, 100, ""},
		{"max breaches", Objective{MetricBetAcceptance, "all", "max", 0.999}, hundred, nil, nil, ptr(1), false, 100, ""},
		{"HDR 3 significant figures above 2048 µs", Objective{MetricBetAcceptance, "all", "max", 200},
			[]replay.JournalEntry{betAt(0, 100_000, replay.OutcomeAccepted)}, nil, nil, ptr(100.031), true, 1, ""},
		{"steady phase only, its timeout included", Objective{MetricBetAcceptance, PhaseSteady, "max", 1000}, phased, nil, fault, ptr(900.095), true, 3, ""},
		{"fault phase only", Objective{MetricBetAcceptance, PhaseFault, "p99", 1}, phased, nil, fault, ptr(2), false, 1, ""},
		{"recovery phase only", Objective{MetricBetAcceptance, PhaseRecovery, "p99", 1}, phased, nil, fault, ptr(0.5), true, 1, ""},
		{"timed-out bet is the p99", Objective{MetricBetAcceptance, PhaseAll, "p99", 250}, timedOut, nil, nil, ptr(2000.895), false, 10, ""},
		{"timed-out bet is the max", Objective{MetricBetAcceptance, PhaseAll, "max", 2500}, timedOut, nil, nil, ptr(2000.895), true, 10, ""},
		{"unknown without an answer time and dropped bets are no samples", Objective{MetricBetAcceptance, PhaseAll, "max", 1}, noLatency, nil, nil, ptr(0.4), true, 1, ""},
		{"no samples in a phase fails", Objective{MetricBetAcceptance, PhaseFault, "p99", 1}, phased, nil, nil, nil, false, 0, "no samples in phase fault: nothing was measured"},
		{"no recovery samples when the fault never went in fails", Objective{MetricBetAcceptance, PhaseRecovery, "p99", 1}, phased, nil, notInjected, nil, false, 0, "no samples in phase recovery"},
		{"a fault that never went in leaves every sample steady", Objective{MetricBetAcceptance, PhaseSteady, "max", 1000}, phased, nil, notInjected, ptr(900.095), true, 5, ""},
		{"no samples at all fails", Objective{MetricBetAcceptance, PhaseAll, "p99", 1}, nil, nil, nil, nil, false, 0, "no samples in phase all"},
		{"error rate at its ceiling passes", Objective{MetricErrorRate, "", "max", 0.5}, mixed, nil, nil, ptr(0.5), true, 200, ""},
		{"error rate above its ceiling fails", Objective{MetricErrorRate, "", "max", 0.4}, mixed, nil, nil, ptr(0.5), false, 200, ""},
		{"error rate with no requests fails", Objective{MetricErrorRate, "", "max", 1}, nil, nil, nil, nil, false, 0, "no samples in phase all"},
		{"settlement lag with no samples in its phase fails", Objective{MetricSettlementLag, PhaseSteady, "max", 5}, settleJournal, settleLedger, fault, nil, false, 0, "no samples in phase steady"},
		{"settlement lag from the ledger", Objective{MetricSettlementLag, "", "max", 5}, settleJournal, settleLedger, nil, ptr(2), true, 2, ""},
		{"settlement lag phase is the result's", Objective{MetricSettlementLag, PhaseFault, "max", 5}, settleJournal, settleLedger, fault, ptr(2), true, 2, ""},
		{"settlement lag without a ledger fails", Objective{MetricSettlementLag, "", "p99", 5}, settleJournal, nil, nil, nil, false, 0, "no samples in phase all"},
		{"quote latency without subscribers fails", Objective{MetricQuoteLatency, "", "p99", 5}, hundred, nil, nil, nil, false, 0, "no quote subscribers observed the stream"},
		{"unknown metric is refused", Objective{"throughput", "", "p99", 5}, hundred, nil, nil, nil, false, 0, `metric "throughput" is not one of`},
		{"one fault's window only", Objective{MetricBetAcceptance, FaultPhase("f"), "max", 1}, phased, nil, fault, ptr(2), false, 1, ""},
		{"one fault's window, another fault elsewhere", Objective{MetricBetAcceptance, FaultPhase("g"), "max", 1}, phased, nil,
			append(slices.Clone(fault), Fault{Name: "g", Injected: true, InjectedAtS: 40, HealedAtS: 40.5, Healed: true}), ptr(0.3), true, 1, ""},
		{"a fault phase naming no fault of the run is refused", Objective{MetricBetAcceptance, FaultPhase("nope"), "max", 1}, phased, nil, fault, nil, false, 0,
			`phase "fault:nope" names the fault "nope", and there is none; the faults are: f`},
		{"the window of a fault that never went in has no samples", Objective{MetricBetAcceptance, FaultPhase("f"), "max", 1}, phased, nil, notInjected, nil, false, 0,
			"no samples in phase fault:f"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := EvaluateObjectives(Input{Objectives: []Objective{tc.obj}, Journal: tc.journal, Ledger: tc.ledger, StartedAt: t0, Faults: tc.faults})[0]
			switch {
			case tc.observed == nil && got.Observed != nil:
				t.Errorf("observed %v, want null", *got.Observed)
			case tc.observed != nil && (got.Observed == nil || *got.Observed != *tc.observed):
				t.Errorf("observed %v, want %v", got.Observed, *tc.observed)
			}
			if got.Pass != tc.pass || got.Samples != tc.samples {
				t.Errorf("pass %v samples %d, want %v %d (note %q)", got.Pass, got.Samples, tc.pass, tc.samples, got.Note)
			}
			if (tc.note == "") != (got.Note == "") || !strings.Contains(got.Note, tc.note) {
				t.Errorf("note %q, want %q", got.Note, tc.note)
			}
			if got.Phase == "" {
				t.Error("phase left empty; the default is all")
			}
		})
	}
}

func TestValidateObjectives(t *testing.T) {
	faults := []string{"redis-slow", "pg-down"}
	tests := []struct {
		name string
		obj  Objective
		want string // substring of the only error; "" = valid
	}{
		{"one fault's window", Objective{MetricBetAcceptance, "fault:redis-slow", "p99", 250}, ""},
		{"every fault's window", Objective{MetricBetAcceptance, PhaseEachFault, "p99", 250}, ""},
		{"a fault that is not in the plan", Objective{MetricBetAcceptance, "fault:redis", "p99", 250},
			`phase "fault:redis" names the fault "redis", and there is none; the faults are: redis-slow, pg-down`},
		{"an empty fault name", Objective{MetricBetAcceptance, "fault:", "p99", 250}, `names the fault "", and there is none`},
		{"bet acceptance p99", Objective{MetricBetAcceptance, "", "p99", 250}, ""},
		{"settlement lag steady p999", Objective{MetricSettlementLag, PhaseSteady, "p999", 5000}, ""},
		{"error rate max", Objective{MetricErrorRate, PhaseRecovery, "max", 0.5}, ""},
		// "No errors at all" is a real objective for error_rate.
		{"error rate zero", Objective{MetricErrorRate, "", "max", 0}, ""},
		{"quote latency p99", Objective{MetricQuoteLatency, "", "p99", 250}, ""},
		{"odds staleness fault max", Objective{MetricOddsStaleness, PhaseFault, "max", 2000}, ""},
		{"quote latency unknown stat", Objective{MetricQuoteLatency, "", "p75", 1}, `quote_latency stat "p75" is not one of: p50, p90, p95, p99, p999, max`},
		{"odds staleness zero limit", Objective{MetricOddsStaleness, "", "max", 0}, "odds_staleness limit 0 must be a positive number"},
		{"unknown metric", Objective{"latency", "", "p99", 1}, `metric "latency" is not one of`},
		{"unknown phase", Objective{MetricBetAcceptance, "warmup", "p99", 1}, `phase "warmup" is not one of`},
		{"unknown stat", Objective{MetricBetAcceptance, "", "p75", 1}, `stat "p75" is not one of`},
		{"error rate percentile", Objective{MetricErrorRate, "", "p99", 1}, `error_rate takes the stat max, not "p99"`},
		{"error rate above 100%", Objective{MetricErrorRate, "", "max", 101}, "above 100%"},
		{"zero limit", Objective{MetricBetAcceptance, "", "p99", 0}, "must be a positive number"},
		{"negative limit", Objective{MetricErrorRate, "", "max", -1}, "must be a positive number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := ValidateObjectives([]Objective{tc.obj}, faults)
			if tc.want == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected errors %v", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) || !strings.HasPrefix(errs[0].Error(), "objective 1: ") {
				t.Fatalf("errors %v, want one containing %q", errs, tc.want)
			}
		})
	}
	// Every problem at once, each naming its objective.
	errs := ValidateObjectives([]Objective{{"x", "y", "z", 0}, {MetricBetAcceptance, "", "p99", 1}, {MetricQuoteLatency, "", "p1", 1}}, nil)
	if len(errs) != 4 || !strings.HasPrefix(errs[3].Error(), "objective 3: ") {
		t.Fatalf("errors %v", errs)
	}
	// A run with no faults has no fault window to name.
	for phase, want := range map[string]string{
		PhaseEachFault:   "objective 1: phase fault:* asks for one objective per fault, and there are no faults",
		"fault:anything": `objective 1: phase "fault:anything" names the fault "anything", and there are no faults`,
	} {
		errs := ValidateObjectives([]Objective{{MetricBetAcceptance, phase, "p99", 1}}, nil)
		if len(errs) != 1 || errs[0].Error() != want {
			t.Errorf("phase %s: errors %v, want %q", phase, errs, want)
		}
	}
}

// TestValidateObjectivesListsTheTables holds the messages to the tables:
// a list of metrics, statistics or phases spelled out a second time would
// drift from the table, and these messages would show it.
func TestValidateObjectivesListsTheTables(t *testing.T) {
	var metricNames, statNames, phaseList []string
	for _, m := range Metrics() {
		metricNames = append(metricNames, m.Name)
	}
	for _, s := range Stats() {
		statNames = append(statNames, s.Name)
	}
	for _, p := range phases {
		phaseList = append(phaseList, p.name)
	}
	errs := ValidateObjectives([]Objective{
		{"nope", PhaseAll, "p99", 1},
		{MetricBetAcceptance, "nope", "p99", 1},
		{MetricBetAcceptance, PhaseAll, "nope", 1},
	}, nil)
	want := []string{
		`objective 1: metric "nope" is not one of: ` + strings.Join(metricNames, ", "),
		`objective 2: phase "nope" is not one of: ` + strings.Join(phaseList, ", "),
		`objective 3: bet_acceptance stat "nope" is not one of: ` + strings.Join(statNames, ", "),
	}
	if len(errs) != len(want) {
		t.Fatalf("errors %v", errs)
	}
	for i, err := range errs {
		if err.Error() != want[i] {
			t.Errorf("error %d = %q, want %q", i, err, want[i])
		}
	}
	// Every metric's statistics come from the statistic table.
	for _, m := range Metrics() {
		for _, s := range m.Stats {
			if _, ok := LookupStat(s); !ok {
				t.Errorf("metric %s takes stat %q, which the statistic table does not have", m.Name, s)
			}
		}
	}
}

func TestEvaluateEachFault(t *testing.T) {
	journal := []replay.JournalEntry{
		betAt(5*sec, 100, replay.OutcomeAccepted),     // steady
		betAt(15*sec, 2000, replay.OutcomeRejected),   // in a [10 s, 20 s]
		betAt(31*sec, 700, replay.OutcomeAccepted),    // in b [30 s, 32 s]
		betAt(50*sec, 400_000, replay.OutcomeUnknown), // in c, never healed
	}
	faults := []Fault{
		{Name: "a", Injected: true, InjectedAtS: 10, HealedAtS: 20, Healed: true},
		{Name: "b", Injected: true, InjectedAtS: 30, HealedAtS: 32, Healed: true},
		{Name: "c", Injected: true, InjectedAtS: 45},
	}
	objs := []Objective{
		{MetricBetAcceptance, PhaseSteady, "max", 1},
		{MetricBetAcceptance, PhaseEachFault, "max", 1},
	}
	got := EvaluateObjectives(Input{Objectives: objs, Journal: journal, StartedAt: t0, Faults: faults})
	want := []struct {
		phase    string
		observed float64
		pass     bool
	}{
		{PhaseSteady, 0.1, true},
		{"fault:a", 2, false},
		{"fault:b", 0.7, true},
		{"fault:c", 400.127, false}, // HDR: 400 ms in a bucket 256 µs wide (399.872 to 400.127 ms), reported at its top
	}
	if len(got) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Phase != w.phase || g.Observed == nil || *g.Observed != w.observed || g.Pass != w.pass || g.Samples != 1 {
			t.Errorf("result %d: phase %s observed %v pass %v samples %d, want %s %v %v 1", i, g.Phase, obsOf(g.Observed), g.Pass, g.Samples, w.phase, w.observed, w.pass)
		}
	}

	// With no faults, fault:* is one result that says why it measured
	// nothing, never a silently missing objective.
	got = EvaluateObjectives(Input{Objectives: objs[1:], Journal: journal, StartedAt: t0})
	if len(got) != 1 || got[0].Pass || got[0].Phase != PhaseEachFault || !strings.Contains(got[0].Note, "there are no faults") {
		t.Fatalf("fault:* with no faults: %+v", got)
	}
}

func TestObjectiveBudget(t *testing.T) {
	// 100 bets of 10, 20, ... 1000 µs (exact in HDR below 2048 µs).
	var hundred []replay.JournalEntry
	for i := int64(1); i <= 100; i++ {
		hundred = append(hundred, betAt(i*1000, i*10, replay.OutcomeAccepted))
	}
	// 199 decided requests and 1 unknown: an error rate of 0.5%.
	var mixed []replay.JournalEntry
	for i := range 199 {
		mixed = append(mixed, replay.JournalEntry{Kind: replay.KindBet, IntendedUS: int64(i), Outcome: replay.OutcomeAccepted})
	}
	mixed = append(mixed, replay.JournalEntry{Kind: replay.KindBet, Outcome: replay.OutcomeUnknown})
	clean := mixed[:199]
	inf := -1.0 // stands for a null burn: a zero budget overspent
	tests := []struct {
		name                string
		obj                 Objective
		journal             []replay.JournalEntry
		allowed, used, burn float64
		pass                bool
	}{
		// 990 and 1000 µs are over 985 µs: 2 of 100 = 2% of a 1% budget.
		{"p99 burnt twice over", Objective{MetricBetAcceptance, "", "p99", 0.985}, hundred, 1, 2, 2, false},
		// Only 1000 µs is over 995 µs: 1%, the budget exactly used up, and p99 = 990 µs holds.
		{"p99 budget used up", Objective{MetricBetAcceptance, "", "p99", 0.995}, hundred, 1, 1, 1, true},
		// 960 to 1000 µs are over 955 µs: 5 of 100 = 5% of a 10% budget.
		{"p90 half burnt", Objective{MetricBetAcceptance, "", "p90", 0.955}, hundred, 10, 5, 0.5, true},
		// 510 to 1000 µs are over 500 µs: 50 of 100 = 50% of a 50% budget.
		{"p50 at its limit", Objective{MetricBetAcceptance, "", "p50", 0.5}, hundred, 50, 50, 1, true},
		// 1000 µs is over 999.5 µs: 1% of a 0.1% budget.
		{"p999 ten times over", Objective{MetricBetAcceptance, "", "p999", 0.9995}, hundred, 0.1, 1, 10, false},
		{"max with none over burns nothing", Objective{MetricBetAcceptance, "", "max", 2}, hundred, 0, 0, 0, true},
		{"max with one over: infinite burn", Objective{MetricBetAcceptance, "", "max", 0.999}, hundred, 0, 1, inf, false},
		// An error rate's limit is its budget: 0.5% used of 0.5%, of 1%, of 0%.
		{"error rate at its ceiling", Objective{MetricErrorRate, "", "max", 0.5}, mixed, 0.5, 0.5, 1, true},
		{"error rate half its ceiling", Objective{MetricErrorRate, "", "max", 1}, mixed, 1, 0.5, 0.5, true},
		{"error rate against no errors at all", Objective{MetricErrorRate, "", "max", 0}, mixed, 0, 0.5, inf, false},
		{"no errors against no errors at all", Objective{MetricErrorRate, "", "max", 0}, clean, 0, 0, 0, true},
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := EvaluateObjectives(Input{Objectives: []Objective{tc.obj}, Journal: tc.journal, StartedAt: t0})[0]
			b := got.Budget
			if b == nil {
				t.Fatalf("no budget: %+v", got)
			}
			if got.Pass != tc.pass || !near(b.AllowedPct, tc.allowed) || !near(b.UsedPct, tc.used) {
				t.Errorf("pass %v allowed %v used %v, want %v %v %v", got.Pass, b.AllowedPct, b.UsedPct, tc.pass, tc.allowed, tc.used)
			}
			switch {
			case tc.burn == inf && b.Burn != nil:
				t.Errorf("burn %v, want null (infinite)", *b.Burn)
			case tc.burn != inf && (b.Burn == nil || !near(*b.Burn, tc.burn)):
				t.Errorf("burn %v, want %v", b.Burn, tc.burn)
			}
			// A breach burns more than its budget; a pass never does.
			if over := b.Burn == nil || *b.Burn > 1; over == got.Pass {
				t.Errorf("pass %v with burn %v", got.Pass, b.Burn)
			}
		})
	}
	// No samples: no budget to speak of.
	if got := EvaluateObjectives(Input{Objectives: []Objective{{MetricBetAcceptance, "", "p99", 1}}, StartedAt: t0})[0]; got.Budget != nil {
		t.Fatalf("budget %+v with no samples", got.Budget)
	}
}

func TestObjectiveText(t *testing.T) {
	tests := []struct {
		name string
		obj  Objective
		want string
	}{
		{"milliseconds", Objective{MetricBetAcceptance, "", "p99", 250}, "p99 <= 250ms"},
		{"seconds", Objective{MetricSettlementLag, "", "p99", 5000}, "p99 <= 5s"},
		{"microseconds", Objective{MetricBetAcceptance, "", "max", 0.001}, "max <= 1µs"},
		{"percent", Objective{MetricErrorRate, "", "max", 0.5}, "max <= 0.5%"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := objectiveText(tc.obj); got != tc.want {
				t.Fatalf("%q, want %q", got, tc.want)
			}
		})
	}
}

// obsOf shows an observed value, or -1 for null.
func obsOf(f *float64) float64 {
	if f == nil {
		return -1
	}
	return *f
}
