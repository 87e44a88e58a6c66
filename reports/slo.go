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
	// PhaseFaultPrefix starts the phase of one fault's window:
	// "fault:redis-slow" is [injected, healed] of the fault named
	// redis-slow, whatever other faults do meanwhile.
	PhaseFaultPrefix = "fault:"
	// PhaseEachFault asks for one objective per fault of the run: it is
	// expanded, when the objectives are evaluated, into one result per
	// fault, in the order of the run's faults, each in phase
	// "fault:NAME". Random faults are drawn when the run starts, so this
	// is how an objective reaches them.
	PhaseEachFault = PhaseFaultPrefix + "*"
)

// FaultPhase returns the phase of the window of the fault called name.
func FaultPhase(name string) string { return PhaseFaultPrefix + name }

// phases is the phase table: what a scenario can write, and what it means.
var phases = []struct{ name, help string }{
	{PhaseAll, "every sample (the default)"},
	{PhaseSteady, "outside every fault and recovery window"},
	{PhaseFault, "inside [injected, healed] of any fault"},
	{PhaseRecovery, "after a fault heals, for as long as it lasted, at least 5s and at most 30s"},
	{PhaseFaultPrefix + "NAME", "inside [injected, healed] of the fault named NAME, a fault of the scenario's plan"},
	{PhaseEachFault, "one objective per fault of the run, each in phase fault:NAME"},
}

// phaseNames lists the phases as a validation message shows them.
func phaseNames() string {
	names := make([]string, len(phases))
	for i, p := range phases {
		names[i] = p.name
	}
	return strings.Join(names, ", ")
}

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
	Metric string  // a metric of the table (Metrics)
	Phase  string  // a phase of the phase table: all (default), steady, fault, recovery, fault:NAME, fault:*
	Stat   string  // a statistic the metric takes (MetricInfo.Stats); for a ratio, "max" is its ceiling
	Limit  float64 // in the metric's unit: milliseconds (UnitMS), percent (UnitPercent: 0.5 = 0.5%)
}

// SLOResult is one objective as evaluated: a report.json slos[] entry.
// Observed is nil when there were no samples to compute it from; such an
// objective does not pass.
type SLOResult struct {
	Metric    string   `json:"metric"`
	Phase     string   `json:"phase"`
	Stat      string   `json:"stat"`      // the statistic, e.g. "p99": what inplay compare matches runs by
	Objective string   `json:"objective"` // e.g. "p99 <= 250ms"
	Observed  *float64 `json:"observed"`
	Unit      string   `json:"unit"` // UnitMS or UnitPercent
	Pass      bool     `json:"pass"`
	Samples   int      `json:"samples"`
	Note      string   `json:"note"`
	// Budget is the objective's error budget over its phase and how much
	// of it the run burnt; nil when there were no samples.
	Budget *Budget `json:"budget,omitempty"`
}

// Budget is the error budget of an objective: the share of samples that
// may be over the limit while the objective holds (for pNN, 100 − NN
// percent; for max, 0), and the share that was. For a ratio such as
// error_rate, whose samples are 0 or 1, the limit is itself the allowed
// share: AllowedPct is the limit and UsedPct the observed ratio.
type Budget struct {
	AllowedPct float64 `json:"allowed_pct"`
	UsedPct    float64 `json:"used_pct"`
	// Burn is UsedPct / AllowedPct: 1 is the budget exactly used up, above
	// 1 the objective is breached. A zero budget (a max objective, a 0%
	// error rate) burns 0 while no sample is over the limit; with one over,
	// the burn is infinite, which JSON cannot hold: Burn is then null.
	Burn *float64 `json:"burn"`
}

// ValidateObjectives returns every problem with objs, one sentence each:
// an unknown metric, phase or stat, a limit the metric cannot take (a
// non-positive one, except a zero error rate), and a fault phase that
// names no fault. faults are the names of the faults a "fault:NAME" phase
// may name; "fault:*" needs at least one. The metric and statistic tables
// say what each metric accepts.
func ValidateObjectives(objs []Objective, faults []string) []error {
	var errs []error
	for i, o := range objs {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("objective %d: "+format, append([]any{i + 1}, args...)...))
		}
		m, ok := lookup(o.Metric)
		switch {
		case !ok:
			bad("metric %q is not one of: %s", o.Metric, strings.Join(metricNames(), ", "))
		case slices.Contains(m.Stats, o.Stat):
		case len(m.Stats) == 1:
			bad("%s takes the stat %s, not %q", o.Metric, m.Stats[0], o.Stat)
		default:
			bad("%s stat %q is not one of: %s", o.Metric, o.Stat, strings.Join(m.Stats, ", "))
		}
		if ok && m.Unit == UnitPercent && o.Limit > 100 {
			bad("%s limit %g%% is above 100%%", o.Metric, o.Limit)
		}
		if msg := phaseProblem(o.Phase, faults); msg != "" {
			bad("%s", msg)
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

// phaseProblem says what is wrong with phase, given the names of the
// faults a fault phase may name; "" when nothing is.
func phaseProblem(phase string, faults []string) string {
	name, isFault := strings.CutPrefix(phase, PhaseFaultPrefix)
	switch {
	case phase == "":
		return ""
	case !isFault:
		// The table's fixed phases are exactly the ones without the prefix.
		for _, p := range phases {
			if p.name == phase {
				return ""
			}
		}
		return fmt.Sprintf("phase %q is not one of: %s", phase, phaseNames())
	case len(faults) == 0 && name == "*":
		return fmt.Sprintf("phase %s asks for one objective per fault, and there are no faults", phase)
	case len(faults) == 0:
		return fmt.Sprintf("phase %q names the fault %q, and there are no faults", phase, name)
	case name == "*" || slices.Contains(faults, name):
		return ""
	default:
		return fmt.Sprintf("phase %q names the fault %q, and there is none; the faults are: %s", phase, name, strings.Join(faults, ", "))
	}
}

// faultNames returns the names of faults, in their order.
func faultNames(faults []Fault) []string {
	names := make([]string, len(faults))
	for i, f := range faults {
		names[i] = f.Name
	}
	return names
}

// expandObjectives replaces each objective in phase fault:* with one per
// fault of faults, in their order, each in phase fault:NAME. With no
// faults it is kept as it is, so that it is reported (and fails, with the
// reason) rather than silently dropped.
func expandObjectives(objs []Objective, faults []Fault) []Objective {
	out := make([]Objective, 0, len(objs))
	for _, o := range objs {
		if o.Phase != PhaseEachFault || len(faults) == 0 {
			out = append(out, o)
			continue
		}
		for _, f := range faults {
			o.Phase = FaultPhase(f.Name)
			out = append(out, o)
		}
	}
	return out
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
type phaser struct {
	fault, recovery []span
	named           map[string]span // each injected fault's own window, by name
}

// newPhaser lays out the fault and recovery windows. A fault that never
// healed lasts to the end of the run and has no recovery. A fault that was
// never injected has no window at all: its zero InjectedAtS is not a time,
// and taking it for one would turn the whole run into a "fault" phase.
func newPhaser(faults []Fault) phaser {
	p := phaser{named: map[string]span{}}
	for _, f := range faults {
		if !f.Injected {
			continue
		}
		from := usOf(f.InjectedAtS)
		if !f.Healed {
			p.fault = append(p.fault, span{from, math.MaxInt64})
			p.named[f.Name] = span{from, math.MaxInt64}
			continue
		}
		to := usOf(f.HealedAtS)
		p.fault = append(p.fault, span{from, to})
		p.named[f.Name] = span{from, to}
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

// in returns whether a sample at intended time us belongs to phase: every
// sample to all, one in the fault's window to fault:NAME (none when that
// fault was never injected), and otherwise one whose phaseOf is phase.
func (p phaser) in(phase string, us int64) bool {
	if phase == PhaseAll {
		return true
	}
	if name, ok := strings.CutPrefix(phase, PhaseFaultPrefix); ok {
		s, injected := p.named[name]
		return injected && us >= s.from && us <= s.to
	}
	return p.phaseOf(us) == phase
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
// is ever reported as met. An objective in phase fault:* gives one result
// per fault of in.Faults, in phase fault:NAME.
func EvaluateObjectives(in Input) []SLOResult {
	return evaluateObjectives(in, in.entries(nil))
}

func evaluateObjectives(in Input, journal iter.Seq[replay.JournalEntry]) []SLOResult {
	obs := newObservedFrom(in, journal)
	ph := newPhaser(in.Faults)
	names := faultNames(in.Faults)
	objs := expandObjectives(in.Objectives, in.Faults)
	out := make([]SLOResult, 0, len(objs))
	for _, o := range objs {
		out = append(out, evaluate(o, obs, ph, names))
	}
	return out
}

// evaluate computes one objective. Samples stream from the metric's
// measurement straight into its statistic, so a metric with tens of
// millions of samples (odds_staleness on a long run) is never held whole.
func evaluate(o Objective, obs *observed, ph phaser, faults []string) SLOResult {
	o, res, m, ok := begin(o, faults)
	if !ok {
		return res
	}
	h := newHistogram()
	var n, ones, lost int
	for s := range m.measure(obs) {
		if !ph.in(o.Phase, s.atUS) {
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
// and unit, and its metric. ok is false when ValidateObjectives refuses o
// (faults are the run's fault names): then res is final, failed with the
// reason as its note.
func begin(o Objective, faults []string) (_ Objective, res SLOResult, m metric, ok bool) {
	if o.Phase == "" {
		o.Phase = PhaseAll
	}
	res = SLOResult{Metric: o.Metric, Phase: o.Phase, Stat: o.Stat, Objective: objectiveText(o), Unit: UnitMS}
	m, known := lookup(o.Metric)
	if known {
		res.Unit = m.Unit
	}
	if errs := ValidateObjectives([]Objective{o}, faults); len(errs) > 0 {
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
	st, _ := LookupStat(o.Stat) // validated by begin
	budget := Budget{AllowedPct: st.BudgetPct}
	switch {
	case m.Unit == UnitPercent:
		observed = float64(ones) * 100 / float64(n)
		// The samples are 0 or 1: the limit is itself the share allowed.
		budget = Budget{AllowedPct: o.Limit, UsedPct: observed}
	default:
		if st.Percentile == 100 {
			observed = msOf(h.Max())
		} else {
			observed = msOf(h.ValueAtQuantile(st.Percentile))
		}
		budget.UsedPct = float64(overLimit(h, o.Limit)) * 100 / float64(n)
	}
	res.Observed = &observed
	res.Pass = observed <= o.Limit
	switch {
	case budget.AllowedPct > 0:
		burn := budget.UsedPct / budget.AllowedPct
		budget.Burn = &burn
	case budget.UsedPct == 0:
		burn := 0.0
		budget.Burn = &burn
	}
	res.Budget = &budget
}

// overLimit counts the samples of h over limitMS. A sample counts at the
// highest value equivalent to it in h, the value its percentiles report, so
// that the budget agrees with the statistic: a pNN objective fails when
// more than 100 − NN percent of its samples are over the limit (up to the
// rounding of the percentile's rank), so its burn is then above 1.
func overLimit(h *hdrhistogram.Histogram, limitMS float64) int64 {
	var over int64
	for _, b := range h.Distribution() {
		if b.Count > 0 && msOf(b.To) > limitMS {
			over += b.Count
		}
	}
	return over
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
