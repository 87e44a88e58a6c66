package reports

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/inplaylabs/inplay/replay"
)

// TestEvaluateMeasuredMatchesJournal: the same samples give the same
// results whether they come as a journal or already reduced, so a k6 run
// and an inplay run are judged alike.
func TestEvaluateMeasuredMatchesJournal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var journal []replay.JournalEntry
	bets := NewLatencyHistogram()
	var errs Ratio
	for i := range 5000 {
		at := int64(i) * 1000
		lat := int64(rng.ExpFloat64() * 40_000) // µs, a long tail
		o := replay.OutcomeAccepted
		switch {
		case i%97 == 0:
			o = replay.OutcomeUnknown
		case i%5 == 0:
			o = replay.OutcomeRejected
		}
		kind := replay.KindBet
		if i%7 == 0 {
			kind = replay.KindDeposit
		}
		journal = append(journal, replay.JournalEntry{Kind: kind, IntendedUS: at, SentUS: at, DoneUS: at + lat, Outcome: o})
		if kind == replay.KindBet {
			RecordLatency(bets, lat)
		}
		errs.Total++
		if o == replay.OutcomeUnknown {
			errs.Ones++
		}
	}
	objs := []Objective{
		{Metric: MetricBetAcceptance, Stat: "p50", Limit: 30},                      // passes
		{Metric: MetricBetAcceptance, Stat: "p99", Limit: 100},                     // breached
		{Metric: MetricBetAcceptance, Stat: "p999", Limit: 10_000},                 // passes
		{Metric: MetricBetAcceptance, Stat: "max", Limit: 1, Phase: PhaseSteady},   // breached; steady is everything without faults
		{Metric: MetricBetAcceptance, Stat: "p99", Limit: 1000, Phase: PhaseFault}, // no faults: no samples
		{Metric: MetricErrorRate, Stat: "max", Limit: 0.5},                         // breached: 52 of 5000 is 1.04%
		{Metric: MetricErrorRate, Stat: "max", Limit: 2},                           // passes
		{Metric: MetricSettlementLag, Stat: "p99", Limit: 5000},                    // not measured: no samples
		{Metric: "bogus", Stat: "p99", Limit: 1},                                   // refused, with the reason
	}
	want := EvaluateObjectives(Input{Journal: journal, Objectives: objs})
	got := EvaluateMeasured(objs, Measured{
		Latencies: map[string]*hdrhistogram.Histogram{MetricBetAcceptance: bets},
		Ratios:    map[string]Ratio{MetricErrorRate: errs},
	})
	if len(got) != len(want) {
		t.Fatalf("%d results, want %d", len(got), len(want))
	}
	passes := 0
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("objective %d (%s): measured\n  %+v\nfrom the journal\n  %+v", i, want[i].Objective, got[i], want[i])
		}
		if got[i].Pass {
			passes++
		}
	}
	// Both sides agreeing on nothing would prove nothing: the table holds
	// passes and failures of every kind.
	if passes != 3 {
		t.Errorf("%d objectives passed, want 3", passes)
	}
}

func TestEvaluateExternalVerdict(t *testing.T) {
	h := NewLatencyHistogram()
	RecordLatency(h, 20_000)
	m := Measured{Latencies: map[string]*hdrhistogram.Histogram{MetricBetAcceptance: h}}
	tests := []struct {
		name  string
		limit float64
		load  Load
		code  int
	}{
		{"met", 50, Load{Sent: 1}, ExitPass},
		{"breached", 10, Load{Sent: 1}, ExitSLOBreached},
		// Dropped iterations make the latencies untrustworthy: invalid wins over a breach.
		{"dropped", 10, Load{Sent: 1, Dropped: 3}, ExitInvalid},
		// Nothing sent: nothing measured, whatever the objectives say.
		{"nothing sent", 50, Load{}, ExitInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := EvaluateExternal(External{Tool: "k6", Load: tt.load, Measured: m,
				Objectives: []Objective{{Metric: MetricBetAcceptance, Stat: "p99", Limit: tt.limit}}})
			if r.ExitCode != tt.code {
				t.Errorf("exit %d, want %d (problems %q)", r.ExitCode, tt.code, r.Problems)
			}
			if r.Schema != Schema || len(r.SLOs) != 1 {
				t.Errorf("report %+v", r)
			}
		})
	}
}
