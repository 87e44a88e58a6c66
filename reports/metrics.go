package reports

import (
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// Units of a metric.
const (
	UnitMS      = "ms" // a latency: limits in milliseconds, statistics from an HDR histogram
	UnitPercent = "%"  // a ratio: the share of samples whose value is 1, in percent
)

// MetricInfo describes a metric an Objective can name: one row of the
// metric table, which validation, evaluation and the scenario's parsing all
// read, so that a new metric is one row and one measurement.
type MetricInfo struct {
	Name        string
	Unit        string   // UnitMS or UnitPercent
	Stats       []string // the statistics an objective may name
	NeedsQuotes bool     // measured by the quote subscribers: a run without them cannot measure it
	Help        string   // one line: what is measured
}

// metric is a row of the table: its description, what limits it takes and
// how it is measured.
type metric struct {
	MetricInfo
	zeroLimitOK bool                             // a zero limit is a real objective ("no errors at all")
	measure     func(*observed) iter.Seq[sample] // every sample of a run
}

// StatInfo describes a statistic an objective may name: one row of the
// statistic table, which validation, evaluation, the error budget and the
// scenario's keys all read.
type StatInfo struct {
	Name string
	// Percentile is the HDR percentile the statistic reads: 99 for p99,
	// 100 for max.
	Percentile float64
	// BudgetPct is the error budget of an objective on it: the share of
	// samples, in percent, that may be over the limit while the objective
	// holds (1 for p99, 0 for max). Written out rather than computed as
	// 100 − Percentile, which is not exact in floating point (100 − 99.9).
	BudgetPct float64
}

// stats is the statistic table, from the loosest to the strictest.
var stats = []StatInfo{
	{Name: "p50", Percentile: 50, BudgetPct: 50},
	{Name: "p90", Percentile: 90, BudgetPct: 10},
	{Name: "p95", Percentile: 95, BudgetPct: 5},
	{Name: "p99", Percentile: 99, BudgetPct: 1},
	{Name: "p999", Percentile: 99.9, BudgetPct: 0.1},
	{Name: "max", Percentile: 100, BudgetPct: 0},
}

// Stats returns every statistic an objective can name, in the table's
// order; a metric's MetricInfo.Stats says which of them it takes.
func Stats() []StatInfo { return slices.Clone(stats) }

// LookupStat returns the statistic called name.
func LookupStat(name string) (StatInfo, bool) {
	i := slices.IndexFunc(stats, func(s StatInfo) bool { return s.Name == name })
	if i < 0 {
		return StatInfo{}, false
	}
	return stats[i], true
}

// statNames returns the names of every statistic.
func statNames() []string {
	names := make([]string, len(stats))
	for i, s := range stats {
		names[i] = s.Name
	}
	return names
}

// latencyStats are the statistics of a latency metric: all of them.
var latencyStats = statNames()

// metrics is the metric table, in the order DESIGN.md lists them.
var metrics = []metric{
	{MetricInfo: MetricInfo{Name: MetricQuoteLatency, Unit: UnitMS, Stats: latencyStats, NeedsQuotes: true,
		Help: "feed update's intended send → first quote at least as new, per quote subscriber; an update that never arrives counts to the end of observation"},
		measure: measureQuoteLatency},
	{MetricInfo: MetricInfo{Name: MetricOddsStaleness, Unit: UnitMS, Stats: latencyStats, NeedsQuotes: true,
		Help: "every 100 ms, per market and quote subscriber: time since the oldest feed update the subscriber has not yet seen was sent (0 when up to date)"},
		measure: measureOddsStaleness},
	{MetricInfo: MetricInfo{Name: MetricBetAcceptance, Unit: UnitMS, Stats: latencyStats,
		Help: "bet request's intended send → its answer, timeouts included"},
		measure: measureBetAcceptance},
	{MetricInfo: MetricInfo{Name: MetricSettlementLag, Unit: UnitMS, Stats: latencyStats,
		Help: "market's first result (intended) → each bet's settled_at in the ledger"},
		measure: measureSettlementLag},
	{MetricInfo: MetricInfo{Name: MetricErrorRate, Unit: UnitPercent, Stats: []string{"max"},
		Help: "share of sent bettor requests with an unknown outcome"},
		zeroLimitOK: true, measure: measureErrorRate},
}

// Metrics returns the description of every metric an Objective can name.
func Metrics() []MetricInfo {
	out := make([]MetricInfo, len(metrics))
	for i, m := range metrics {
		out[i] = m.MetricInfo
	}
	return out
}

// LookupMetric returns the description of the metric called name.
func LookupMetric(name string) (MetricInfo, bool) {
	m, ok := lookup(name)
	return m.MetricInfo, ok
}

func lookup(name string) (metric, bool) {
	i := slices.IndexFunc(metrics, func(m metric) bool { return m.Name == name })
	if i < 0 {
		return metric{}, false
	}
	return metrics[i], true
}

func metricNames() []string {
	names := make([]string, len(metrics))
	for i, m := range metrics {
		names[i] = m.Name
	}
	return names
}

// observed is what a run recorded, as the measurements read it. A
// measurement that is costly and may serve several objectives (one per
// phase) caches its samples here.
type observed struct {
	journal iter.Seq[replay.JournalEntry] // read again by each measurement: it may be a file
	ledger  *Ledger
	start   time.Time
	quotes  *replay.QuoteObservations
	endUS   int64 // the end of the replay on its clock, µs; 0 = unknown

	quoteLatency []sample // cached by measureQuoteLatency
	latencyDone  bool
}

func newObserved(in Input) *observed {
	return newObservedFrom(in, in.entries(nil))
}

func newObservedFrom(in Input, journal iter.Seq[replay.JournalEntry]) *observed {
	return &observed{journal: journal, ledger: in.Ledger, start: in.StartedAt, quotes: in.Quotes, endUS: in.Wall.Microseconds()}
}

// measureBetAcceptance: one sample per bet that was sent and answered, or
// given up on, at its intended time.
func measureBetAcceptance(o *observed) iter.Seq[sample] {
	return func(yield func(sample) bool) {
		for e := range o.journal {
			// An unknown outcome waited at least until the harness gave up
			// (a timeout's latency is at least the timeout): it is a real,
			// and the worst, acceptance sample. One with no DoneUS never
			// left the generator, so it has no latency to report.
			if e.Kind == replay.KindBet && sent(e) && e.DoneUS > 0 {
				if !yield(sample{atUS: e.IntendedUS, value: e.DoneUS - e.IntendedUS}) {
					return
				}
			}
		}
	}
}

// measureErrorRate: one sample per decided or unknown bettor request, 1 for
// an unknown outcome.
func measureErrorRate(o *observed) iter.Seq[sample] {
	return func(yield func(sample) bool) {
		for e := range o.journal {
			switch e.Kind {
			case replay.KindBet, replay.KindDeposit, replay.KindWithdraw, replay.KindCashout:
			default:
				continue
			}
			var s sample
			switch e.Outcome {
			case replay.OutcomeAccepted, replay.OutcomeRejected:
				s = sample{atUS: e.IntendedUS}
			case replay.OutcomeUnknown:
				s = sample{atUS: e.IntendedUS, value: 1}
			default:
				continue
			}
			if !yield(s) {
				return
			}
		}
	}
}

// measureSettlementLag: one sample per settled bet on a resulted market,
// at the result that settled it: its market's first, or the first after
// the market's last rollback (a resettlement). It needs the ledger; start places the
// ledger's wall-clock settlement times on the journal's clock.
func measureSettlementLag(o *observed) iter.Seq[sample] {
	return func(yield func(sample) bool) {
		if o.ledger == nil {
			return
		}
		resultAt := map[string]int64{} // market → intended time of its standing result
		for e := range o.journal {
			if e.Outcome == replay.OutcomeDropped {
				continue
			}
			switch e.Kind {
			case replay.KindRollback:
				delete(resultAt, e.Market)
			case replay.KindResult:
				if at, ok := resultAt[e.Market]; !ok || e.IntendedUS < at {
					resultAt[e.Market] = e.IntendedUS
				}
			}
		}
		for _, b := range o.ledger.Bets {
			at, ok := resultAt[b.Market]
			if b.SettledAt == nil || !ok {
				continue
			}
			lag := b.SettledAt.Sub(o.start.Add(time.Duration(at) * time.Microsecond))
			if !yield(sample{atUS: at, value: lag.Microseconds()}) {
				return
			}
		}
	}
}

// ObjectivesHelp describes, from the tables, what an objective can say:
// every metric with its unit, statistics and how it is measured, every
// phase, and how the error budget is counted. The CLI's help shows it.
func ObjectivesHelp() string {
	var b strings.Builder
	b.WriteString("Metrics (slos[].metric), each with the statistics it takes as keys:\n")
	for _, m := range metrics {
		limit := "a duration, e.g. 250ms"
		if m.Unit == UnitPercent {
			limit = "a percentage, e.g. 0.5%"
		}
		fmt.Fprintf(&b, "  %s (%s: %s): %s.\n", m.Name, strings.Join(m.Stats, ", "), limit, m.Help)
	}
	b.WriteString("Phases (slos[].phase):\n")
	for _, p := range phases {
		fmt.Fprintf(&b, "  %s: %s.\n", p.name, p.help)
	}
	b.WriteString("Error budget: the share of samples a statistic allows over its limit (p99: 1%, max: 0),\n" +
		"or for a percentage the limit itself; burn = the share used / the share allowed (above 1: breached).\n")
	return b.String()
}
