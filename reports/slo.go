package reports

import (
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/inplaylabs/inplay/replay"
)

// Metrics an Objective can name. The metric table (metrics.go) says how
// each is measured.
const (
	// MetricQuoteLatency is the time from a feed update's intended send
	// time to the first quote of its market, at least as new, that each
	// quote subscriber received.
	MetricQuoteLatency = "quote_latency"
	// MetricOddsStaleness is how far each subscriber's view of each market
	// lags the feed, sampled every 100 ms of the replay clock.
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
	Unit      string   `json:"unit"` // UnitMS or UnitPercent
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
// an unknown metric, phase or stat, and a limit the metric cannot take
// (a non-positive one, except a zero error rate). The metric table says
// what each metric accepts.
func ValidateObjectives(objs []Objective) []error {
	var errs []error
	for i, o := range objs {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("objective %d: "+format, append([]any{i + 1}, args...)...))
		}
		m, ok := lookup(o.Metric)
		switch {
		case !ok:
			bad("metric %q is not one of: %s", o.Metric, strings.Join(metricNames(), ", "))
		case m.Unit == UnitPercent:
			if !slices.Contains(m.Stats, o.Stat) {
				bad("%s takes the stat max (the ratio's ceiling), not %q", o.Metric, o.Stat)
			}
			if o.Limit > 100 {
				bad("%s limit %g%% is above 100%%", o.Metric, o.Limit)
			}
		default:
			if !slices.Contains(m.Stats, o.Stat) {
				bad("%s stat %q is not one of: %s", o.Metric, o.Stat, strings.Join(m.Stats, ", "))
			}
		}
		switch o.Phase {
		case "", PhaseAll, PhaseSteady, PhaseFault, PhaseRecovery:
		default:
			bad("phase %q is not one of: all, steady, fault, recovery", o.Phase)
		}
		// A zero error rate is a real objective ("no errors at all"); a zero
		// latency is not one any system can meet.
		switch {
		case ok && m.zeroLimitOK && o.Limit == 0:
		case !(o.Limit > 0) || math.IsInf(o.Limit, 0):
			bad("%s limit %g must be a positive number", o.Metric, o.Limit)
		}
	}
	return errs
}

// sample is one measurement, placed in time on the replay clock: by its
// intended send time, or for odds_staleness by the instant it was taken.
type sample struct {
	atUS  int64 // µs from the replay's start
	value int64 // µs for latencies; 1 (unknown) or 0 for error_rate
	lost  bool  // quote_latency: the update never arrived, value runs to the end of observation
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

// EvaluateObjectives evaluates every objective of in.Objectives over the
// run's samples: bet_acceptance and error_rate from the journal,
// settlement_lag from the ledger's settlement times against the journal's
// results (in.Ledger may be nil: then there are no settlement samples),
// quote_latency and odds_staleness from the journal's feed updates against
// in.Quotes (nil: no quote samples). in.StartedAt is the replay clock's
// zero; the injected faults give the phases. An objective
// ValidateObjectives refuses is reported as failed with the reason as its
// note, and so is one with no samples in its phase (observed null): neither
// is ever reported as met.
func EvaluateObjectives(in Input) []SLOResult {
	return evaluateObjectives(in, in.entries(nil))
}

func evaluateObjectives(in Input, journal iter.Seq[replay.JournalEntry]) []SLOResult {
	obs := newObservedFrom(in, journal)
	ph := newPhaser(in.Faults)
	out := make([]SLOResult, 0, len(in.Objectives))
	for _, o := range in.Objectives {
		out = append(out, evaluate(o, obs, ph))
	}
	return out
}

// evaluate computes one objective. Samples stream from the metric's
// measurement straight into its statistic, so a metric with tens of
// millions of samples (odds_staleness on a long run) is never held whole.
func evaluate(o Objective, obs *observed, ph phaser) SLOResult {
	o, res, m, ok := begin(o)
	if !ok {
		return res
	}
	h := newHistogram()
	var n, ones, lost int
	for s := range m.measure(obs) {
		if o.Phase != PhaseAll && ph.phaseOf(s.atUS) != o.Phase {
			continue
		}
		n++
		if s.lost {
			lost++
		}
		if m.Unit == UnitPercent {
			ones += int(s.value)
		} else {
			record(h, s.value)
		}
	}
	conclude(&res, o, m, h, n, ones)
	if n == 0 && m.NeedsQuotes && obs.quotes == nil {
		res.Note += " (no quote subscribers observed the stream)"
	}
	if lost > 0 {
		res.Note = fmt.Sprintf("%d of %d updates × subscribers never arrived; each counts as the time from its intended send to the end of observation", lost, n)
	}
	return res
}

// begin starts the result of objective o: its phase defaulted, its text
// and unit, and its metric. ok is false when ValidateObjectives refuses o:
// then res is final, failed with the reason as its note.
func begin(o Objective) (_ Objective, res SLOResult, m metric, ok bool) {
	if o.Phase == "" {
		o.Phase = PhaseAll
	}
	res = SLOResult{Metric: o.Metric, Phase: o.Phase, Objective: objectiveText(o), Unit: UnitMS}
	m, known := lookup(o.Metric)
	if known {
		res.Unit = m.Unit
	}
	if errs := ValidateObjectives([]Objective{o}); len(errs) > 0 {
		res.Note = strings.TrimPrefix(errs[0].Error(), "objective 1: ")
		return o, res, m, false
	}
	return o, res, m, true
}

// conclude computes o's statistic from n samples, held in h for a latency
// (µs) or counted as ones for a ratio, and judges it against o's limit.
func conclude(res *SLOResult, o Objective, m metric, h *hdrhistogram.Histogram, n, ones int) {
	res.Samples = n
	if n == 0 {
		// An objective that measured nothing was not met, whatever its
		// metric or phase: a recovery objective in a run whose fault never
		// went in, or an error rate with no requests, proves nothing.
		res.Note = "no samples in phase " + o.Phase + ": nothing was measured"
		return
	}
	var observed float64
	switch {
	case m.Unit == UnitPercent:
		observed = float64(ones) * 100 / float64(n)
	case o.Stat == "max":
		observed = msOf(h.Max())
	default:
		observed = msOf(h.ValueAtQuantile(statPercentiles[o.Stat]))
	}
	res.Observed = &observed
	res.Pass = observed <= o.Limit
}

// objectiveText renders an objective as report.json shows it: "p99 <= 250ms",
// "max <= 0.5%".
func objectiveText(o Objective) string {
	if m, ok := lookup(o.Metric); ok && m.Unit == UnitPercent {
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
