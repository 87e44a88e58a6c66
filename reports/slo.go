package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/inplaylabs/inplay/replay"
)

// Metrics an Objective can name.
const (
	MetricQuoteLatency  = "quote_latency"
	MetricOddsStaleness = "odds_staleness"
	// MetricBetAcceptance is the time from a bet request's intended send
	// time to its answer (DoneUS − IntendedUS), for every bet that was sent:
	// accepted, rejected, and unknown outcomes (timeouts, transport errors,
	// 5xx) at the moment the harness gave up on them. The unknown ones are
	// the slowest requests of a run; leaving them out would flatter exactly
	// the percentiles an objective is about. Dropped bets were never sent and
	// have no latency (they make the run invalid instead).
	MetricBetAcceptance = "bet_acceptance"
	// MetricSettlementLag is the time from a market's first published
	// result (its intended time) to each bet's settled_at in the ledger.
	MetricSettlementLag = "settlement_lag"
	// MetricErrorRate is the share of sent bettor requests (bets, deposits,
	// withdrawals, cash-outs) whose outcome is unknown, in percent.
	MetricErrorRate = "error_rate"
)

// Phases of a run, derived from the faults that were injected. A sample
// belongs to the phase of its intended time.
const (
	PhaseAll      = "all"      // every sample
	PhaseSteady   = "steady"   // outside every fault and recovery window
	PhaseFault    = "fault"    // [injected, healed] of some fault
	PhaseRecovery = "recovery" // (healed, healed + min(max(fault duration, 5s), 30s)] of some fault
)

// Recovery window bounds: a recovery lasts as long as its fault did, but at
// least minRecovery (a blip still needs time to recover from) and at most
// maxRecovery (a long outage must not swallow the rest of the run).
const (
	minRecovery = 5 * time.Second
	maxRecovery = 30 * time.Second
)

// Histogram range: 1 µs to 1 h at 3 significant figures. A value above an
// hour is recorded as an hour; it fails any sane objective either way.
const (
	histMinUS = 1
	histMaxUS = int64(time.Hour / time.Microsecond)
	histSig   = 3
)

// Objective is one service-level objective of a scenario: Stat of Metric,
// over the samples of Phase, must be at most Limit.
type Objective struct {
	Metric string  // quote_latency, odds_staleness, bet_acceptance, settlement_lag, error_rate
	Phase  string  // all (default), steady, fault, recovery
	Stat   string  // p50, p90, p95, p99, p999, max (for error_rate: "max" means the ratio's ceiling)
	Limit  float64 // milliseconds for latency metrics; percent for error_rate (0.5 = 0.5%)
}

// SLOResult is one objective as evaluated: a report.json slos[] entry.
// Observed is nil when there were no samples to compute it from; such an
// objective does not pass.
type SLOResult struct {
	Metric    string   `json:"metric"`
	Phase     string   `json:"phase"`
	Objective string   `json:"objective"` // e.g. "p99 <= 250ms"
	Observed  *float64 `json:"observed"`
	Unit      string   `json:"unit"` // "ms" or "%"
	Pass      bool     `json:"pass"`
	Samples   int      `json:"samples"`
	Note      string   `json:"note"`
}

// statPercentiles maps a latency Stat to its HDR percentile; max is the
// histogram's maximum.
var statPercentiles = map[string]float64{
	"p50": 50, "p90": 90, "p95": 95, "p99": 99, "p999": 99.9, "max": 100,
}

// ValidateObjectives returns every problem with objs, one sentence each:
// an unknown metric, phase or stat, a non-positive limit (error_rate may be 0), and metrics this
// build cannot measure. An objective that cannot be measured is refused
// rather than reported as met.
func ValidateObjectives(objs []Objective) []error {
	var errs []error
	for i, o := range objs {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("objective %d: "+format, append([]any{i + 1}, args...)...))
		}
		switch o.Metric {
		case MetricQuoteLatency, MetricOddsStaleness:
			bad("%s is not measured yet: it needs the quote stream", o.Metric)
		case MetricBetAcceptance, MetricSettlementLag:
			if _, ok := statPercentiles[o.Stat]; !ok {
				bad("%s stat %q is not one of: p50, p90, p95, p99, p999, max", o.Metric, o.Stat)
			}
		case MetricErrorRate:
			if o.Stat != "max" {
				bad("error_rate takes the stat max (the ratio's ceiling), not %q", o.Stat)
			}
			if o.Limit > 100 {
				bad("error_rate limit %g%% is above 100%%", o.Limit)
			}
		default:
			bad("metric %q is not one of: quote_latency, odds_staleness, bet_acceptance, settlement_lag, error_rate", o.Metric)
		}
		switch o.Phase {
		case "", PhaseAll, PhaseSteady, PhaseFault, PhaseRecovery:
		default:
			bad("phase %q is not one of: all, steady, fault, recovery", o.Phase)
		}
		// A zero error rate is a real objective ("no errors at all"); a zero
		// latency is not one any system can meet.
		switch {
		case o.Metric == MetricErrorRate && o.Limit == 0:
		case !(o.Limit > 0) || math.IsInf(o.Limit, 0):
			bad("%s limit %g must be a positive number", o.Metric, o.Limit)
		}
	}
	return errs
}

// sample is one measurement, placed in time by its intended send time.
type sample struct {
	atUS  int64 // intended time, µs from the replay's start
	value int64 // µs for latencies; 1 (unknown) or 0 for error_rate
}

// measurements are the samples of every metric this build measures.
type measurements map[string][]sample

// measure collects samples from the journal and, for settlement_lag, the
// ledger (nil: no settlement samples). start is the replay clock's zero, to
// place the ledger's wall-clock settlement times on the journal's clock.
func measure(journal []replay.JournalEntry, l *Ledger, start time.Time) measurements {
	m := measurements{}
	resultAt := map[string]int64{} // market → intended time of its first result
	for _, e := range journal {
		switch e.Kind {
		case replay.KindBet, replay.KindDeposit, replay.KindWithdraw, replay.KindCashout:
			switch e.Outcome {
			case replay.OutcomeAccepted, replay.OutcomeRejected:
				m[MetricErrorRate] = append(m[MetricErrorRate], sample{atUS: e.IntendedUS})
			case replay.OutcomeUnknown:
				m[MetricErrorRate] = append(m[MetricErrorRate], sample{atUS: e.IntendedUS, value: 1})
			}
			// An unknown outcome waited at least until the harness gave up
			// (a timeout's latency is at least the timeout): it is a real,
			// and the worst, acceptance sample. One with no DoneUS never
			// left the generator, so it has no latency to report.
			if e.Kind == replay.KindBet && sent(e) && e.DoneUS > 0 {
				m[MetricBetAcceptance] = append(m[MetricBetAcceptance], sample{atUS: e.IntendedUS, value: e.DoneUS - e.IntendedUS})
			}
		case replay.KindResult:
			if e.Outcome == replay.OutcomeDropped {
				continue
			}
			if at, ok := resultAt[e.Market]; !ok || e.IntendedUS < at {
				resultAt[e.Market] = e.IntendedUS
			}
		}
	}
	if l != nil {
		for _, b := range l.Bets {
			at, ok := resultAt[b.Market]
			if b.SettledAt == nil || !ok {
				continue
			}
			lag := b.SettledAt.Sub(start.Add(time.Duration(at) * time.Microsecond))
			m[MetricSettlementLag] = append(m[MetricSettlementLag], sample{atUS: at, value: lag.Microseconds()})
		}
	}
	return m
}

// span is a closed or half-open window of replay time in µs.
type span struct{ from, to int64 }

// phaser tells the phase of an instant from the run's faults.
type phaser struct{ fault, recovery []span }

// newPhaser lays out the fault and recovery windows. A fault that never
// healed lasts to the end of the run and has no recovery. A fault that was
// never injected has no window at all: its zero InjectedAtS is not a time,
// and taking it for one would turn the whole run into a "fault" phase.
func newPhaser(faults []Fault) phaser {
	var p phaser
	for _, f := range faults {
		if !f.Injected {
			continue
		}
		from := usOf(f.InjectedAtS)
		if !f.Healed {
			p.fault = append(p.fault, span{from, math.MaxInt64})
			continue
		}
		to := usOf(f.HealedAtS)
		p.fault = append(p.fault, span{from, to})
		d := time.Duration(max(to-from, 0)) * time.Microsecond
		rec := min(max(d, minRecovery), maxRecovery)
		p.recovery = append(p.recovery, span{to, to + rec.Microseconds()})
	}
	return p
}

// phaseOf returns the phase of intended time us: fault wins over recovery
// (a second fault during the first one's recovery is a fault), recovery
// over steady.
func (p phaser) phaseOf(us int64) string {
	for _, s := range p.fault {
		if us >= s.from && us <= s.to {
			return PhaseFault
		}
	}
	for _, s := range p.recovery {
		if us > s.from && us <= s.to {
			return PhaseRecovery
		}
	}
	return PhaseSteady
}

// EvaluateObjectives evaluates every objective over the run's samples:
// bet_acceptance and error_rate from the journal, settlement_lag from the
// ledger's settlement times against the journal's results (l may be nil:
// then there are no settlement samples). start is the replay clock's zero;
// the injected faults give the phases. An objective ValidateObjectives
// refuses is reported as failed with the reason as its note, and so is one
// with no samples in its phase (observed null): neither is ever reported as
// met.
func EvaluateObjectives(objs []Objective, journal []replay.JournalEntry, l *Ledger, start time.Time, faults []Fault) []SLOResult {
	m := measure(journal, l, start)
	ph := newPhaser(faults)
	out := make([]SLOResult, 0, len(objs))
	for _, o := range objs {
		out = append(out, evaluate(o, m, ph))
	}
	return out
}

// evaluate computes one objective.
func evaluate(o Objective, m measurements, ph phaser) SLOResult {
	if o.Phase == "" {
		o.Phase = PhaseAll
	}
	res := SLOResult{Metric: o.Metric, Phase: o.Phase, Objective: objectiveText(o), Unit: "ms"}
	if o.Metric == MetricErrorRate {
		res.Unit = "%"
	}
	if errs := ValidateObjectives([]Objective{o}); len(errs) > 0 {
		res.Note = strings.TrimPrefix(errs[0].Error(), "objective 1: ")
		return res
	}
	var in []sample
	for _, s := range m[o.Metric] {
		if o.Phase == PhaseAll || ph.phaseOf(s.atUS) == o.Phase {
			in = append(in, s)
		}
	}
	res.Samples = len(in)
	if len(in) == 0 {
		// An objective that measured nothing was not met, whatever its
		// metric or phase: a recovery objective in a run whose fault never
		// went in, or an error rate with no requests, proves nothing.
		res.Note = "no samples in phase " + o.Phase + ": nothing was measured"
		return res
	}

	var observed float64
	if o.Metric == MetricErrorRate {
		unknown := 0
		for _, s := range in {
			unknown += int(s.value)
		}
		observed = float64(unknown) * 100 / float64(len(in))
	} else {
		h := newHistogram()
		for _, s := range in {
			record(h, s.value)
		}
		if o.Stat == "max" {
			observed = msOf(h.Max())
		} else {
			observed = msOf(h.ValueAtQuantile(statPercentiles[o.Stat]))
		}
	}
	res.Observed = &observed
	res.Pass = observed <= o.Limit
	return res
}

// objectiveText renders an objective as report.json shows it: "p99 <= 250ms",
// "max <= 0.5%".
func objectiveText(o Objective) string {
	if o.Metric == MetricErrorRate {
		return fmt.Sprintf("%s <= %s%%", o.Stat, strconv.FormatFloat(o.Limit, 'f', -1, 64))
	}
	if o.Limit > 0 && o.Limit < float64(math.MaxInt64/int64(time.Millisecond)) {
		d := time.Duration(math.Round(o.Limit * float64(time.Millisecond)))
		return fmt.Sprintf("%s <= %s", o.Stat, d)
	}
	return fmt.Sprintf("%s <= %sms", o.Stat, strconv.FormatFloat(o.Limit, 'f', -1, 64))
}

// newHistogram returns a latency histogram in µs.
func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMinUS, histMaxUS, histSig)
}

// record adds a value in µs, clamped into the histogram's range: a negative
// value (a clock that ran early) counts as 0, anything beyond an hour as an
// hour.
func record(h *hdrhistogram.Histogram, us int64) {
	_ = h.RecordValue(min(max(us, 0), histMaxUS)) // cannot fail once clamped
}

// msOf converts µs to milliseconds.
func msOf(us int64) float64 { return float64(us) / 1000 }

// usOf converts seconds to µs.
func usOf(s float64) int64 { return int64(math.Round(s * 1e6)) }
