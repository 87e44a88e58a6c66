package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/chaos"
	"github.com/inplaylabs/inplay/replay/bettors"
	"github.com/inplaylabs/inplay/replay/synth"
	"github.com/inplaylabs/inplay/reports"
)

// Scenario is a validated scenario, with every value parsed and every
// default applied. It is what the runner executes.
type Scenario struct {
	Name        string
	Description string
	Seed        int64

	Generate    *Generate // set when the load is generated
	CapturePath string    // set when the load is a capture file
	// Bettors, when set, is the population overlaid on the capture file
	// (load.bettors).
	Bettors *bettors.Config

	Speed          float64       // capture time / wall time
	Headroom       float64       // bettor traffic multiplier, >= 1
	Workers        int           // max requests in flight
	MaxScheduleLag time.Duration // p99 send lag beyond which the run is invalid
	// QuoteSubscribers is how many quote stream clients to run
	// (replay.StartQuoteSubscribers); 0 = none.
	QuoteSubscribers int

	InPlayDelay time.Duration
	// BetDelayFromFeed is platform.in_play_delay: feed, each market's
	// delay as its feed announces it (in the replay's time).
	BetDelayFromFeed bool
	// HoldBets is platform.hold_bets: the platform holds a bet's request
	// for its delay instead of answering 202 pending.
	HoldBets bool
	// EventStore is platform.event_store: the platform keeps its
	// hash-chained event store (docs/event-store.md), so invariants 9 and
	// 12 are checked. Off by default: its serial commit costs placement
	// throughput (docs/event-store.md, "Cost").
	EventStore bool
	MaxStake   int64

	// Faults is the plan as written; Random, when set, is drawn for each
	// run by Plan.
	Faults     []chaos.Fault
	Random     *chaos.Random
	Objectives []reports.Objective
	Reconcile  bool
	Drain      time.Duration

	// Source is the scenario file as written, when it came from Parse; a
	// run copies it to its out dir (scenario.yaml) so that it can be run
	// again from there (inplay shrink).
	Source []byte
}

// Generate describes a synthetic capture.
type Generate struct {
	Profile     string
	Matches     int
	Bettors     int
	Duration    time.Duration
	Corrections bool // each match's settlement is corrected (rollback, resettlement)
}

// Links are the hops the runner puts a toxiproxy link on (every one of
// chaos.Hops).
var Links = chaos.LinkTargets

// Defaults applied when the scenario leaves a value out.
const (
	DefaultWorkers        = 512
	DefaultMaxScheduleLag = 50 * time.Millisecond
	DefaultDrain          = 30 * time.Second
	// DefaultQuoteSubscribers is enough subscribers to see one dropped
	// while others are not, and few enough to leave the stream's fan-out
	// to the platform's own load.
	DefaultQuoteSubscribers = 4
	// MaxQuoteSubscribers bounds the subscribers: each is a connection the
	// platform fans every quote out to, and a harness that loads the
	// stream more than its bettors do measures itself.
	MaxQuoteSubscribers = 64
	// DefaultBettorPrefix starts the accounts and ids of load.bettors'
	// population, so that they never collide with the capture's own.
	DefaultBettorPrefix = "ov-"
)

func (s *Spec) resolve() (*Scenario, []error) {
	var errs []error
	sc := &Scenario{
		Name:             s.Name,
		Description:      s.Description,
		Seed:             s.Seed,
		Speed:            1,
		Headroom:         1,
		Workers:          DefaultWorkers,
		MaxScheduleLag:   DefaultMaxScheduleLag,
		QuoteSubscribers: DefaultQuoteSubscribers,
		MaxStake:         s.Platform.MaxStake,
		Reconcile:        true,
		Drain:            DefaultDrain,
	}
	if strings.TrimSpace(s.Name) == "" {
		errs = append(errs, errAt("name", "is required"))
	}

	// load
	switch {
	case s.Load.Generate != nil && s.Load.Capture != "":
		errs = append(errs, errAt("load", "has both generate and capture; choose one"))
	case s.Load.Generate == nil && s.Load.Capture == "":
		errs = append(errs, errAt("load", "needs either generate or capture"))
	case s.Load.Capture != "":
		sc.CapturePath = s.Load.Capture
	default:
		g := s.Load.Generate
		sc.Generate = &Generate{Profile: g.Profile, Matches: g.Matches, Bettors: g.Bettors, Corrections: g.Corrections}
		if g.Profile != "football" {
			errs = append(errs, errAt("load.generate.profile", "%q is not a known profile (known: football)", g.Profile))
		}
		if g.Matches < 1 || g.Matches > 100 {
			errs = append(errs, errAt("load.generate.matches", "must be between 1 and 100, not %d", g.Matches))
		}
		if g.Bettors < 1 || g.Bettors > 1_000_000 {
			errs = append(errs, errAt("load.generate.bettors", "must be between 1 and 1000000, not %d", g.Bettors))
		}
		if d, err := parseDuration(g.Duration); err != nil {
			errs = append(errs, errAt("load.generate.duration", "%v", err))
		} else if d < synth.MinFootballDuration {
			// The generator's own bound, so that what validate accepts, run
			// can generate.
			errs = append(errs, errAt("load.generate.duration", "must be at least %s, not %s", synth.MinFootballDuration, d))
		} else {
			sc.Generate.Duration = d
		}
	}
	if b := s.Load.Bettors; b != nil {
		if s.Load.Generate != nil {
			errs = append(errs, errAt("load.bettors", "overlays bettors on load.capture; load.generate makes its own (load.generate.bettors)"))
		} else {
			var berrs []error
			sc.Bettors, berrs = b.resolve(s.Seed)
			errs = append(errs, berrs...)
		}
	}
	if s.Load.Speed != nil {
		if *s.Load.Speed <= 0 {
			errs = append(errs, errAt("load.speed", "must be greater than 0 (capture time / wall time), not %g", *s.Load.Speed))
		} else {
			sc.Speed = *s.Load.Speed
		}
	}
	if s.Load.Headroom != nil {
		if *s.Load.Headroom < 1 || *s.Load.Headroom > 10 {
			errs = append(errs, errAt("load.headroom", "must be between 1 and 10 (1.3 = 30%% more bettor traffic), not %g", *s.Load.Headroom))
		} else {
			sc.Headroom = *s.Load.Headroom
		}
	}
	if s.Load.Workers < 0 {
		errs = append(errs, errAt("load.workers", "must not be negative, not %d", s.Load.Workers))
	} else if s.Load.Workers > 0 {
		sc.Workers = s.Load.Workers
	}
	if s.Load.MaxScheduleLag != "" {
		if d, err := parseDuration(s.Load.MaxScheduleLag); err != nil {
			errs = append(errs, errAt("load.max_schedule_lag", "%v", err))
		} else {
			sc.MaxScheduleLag = d
		}
	}

	if n := s.Load.QuoteSubscribers; n != nil {
		if *n < 0 || *n > MaxQuoteSubscribers {
			errs = append(errs, errAt("load.quote_subscribers", "must be between 0 and %d (0 = none), not %d", MaxQuoteSubscribers, *n))
		} else {
			sc.QuoteSubscribers = *n
		}
	}

	// platform
	if s.Platform.InPlayDelay == "feed" {
		sc.BetDelayFromFeed = true
	} else if s.Platform.InPlayDelay != "" {
		if d, err := parseDuration(s.Platform.InPlayDelay); err != nil {
			errs = append(errs, errAt("platform.in_play_delay", "%v", err))
		} else if d < 0 || d > time.Minute {
			errs = append(errs, errAt("platform.in_play_delay", "must be between 0s and 1m, not %s", d))
		} else {
			sc.InPlayDelay = d
		}
	}
	sc.HoldBets = s.Platform.HoldBets
	sc.EventStore = s.Platform.EventStore
	if s.Platform.MaxStake < 0 {
		errs = append(errs, errAt("platform.max_stake", "must not be negative (0 = no limit), not %d", s.Platform.MaxStake))
	}

	// faults
	prefix := "faults"
	if s.Faults.mapping {
		prefix = "faults.plan"
	}
	for i, f := range s.Faults.Plan {
		path := fmt.Sprintf("%s[%d]", prefix, i)
		cf := chaos.Fault{Name: f.Name, Target: f.Target, Kind: f.Kind, Params: f.Params}
		if d, err := parseDuration(f.At); err != nil {
			errs = append(errs, errAt(path+".at", "%v", err))
		} else {
			cf.At = d
		}
		if d, err := parseDuration(f.For); err != nil {
			errs = append(errs, errAt(path+".for", "%v", err))
		} else {
			cf.For = d
		}
		sc.Faults = append(sc.Faults, cf)
	}
	if rs := s.Faults.Random; rs != nil {
		var rerrs []error
		sc.Random, rerrs = rs.resolve(sc)
		errs = append(errs, rerrs...)
	}
	// Checked against all a run can have; the runner checks the plan again
	// against what its run really has (chaos.Env.Reach).
	// The names a fault:NAME objective may name: the plan's, and a random
	// plan's as drawn for everything a run can have (docs/contracts.md).
	var faultNames []string
	for _, f := range sc.Faults {
		faultNames = append(faultNames, f.Name)
	}
	if sc.Random == nil || len(errs) > 0 {
		for _, err := range chaos.ValidateFaults(sc.Faults, chaos.FullReach()) {
			errs = append(errs, errAt(prefix, "%v", err))
		}
	} else if plan, perrs := sc.Plan(chaos.FullReach()); perrs != nil {
		for _, err := range perrs {
			errs = append(errs, errAt("faults", "%v", err))
		}
	} else {
		faultNames = faultNames[:0]
		for _, f := range plan {
			faultNames = append(faultNames, f.Name)
		}
	}

	// slos
	for i, o := range s.SLOs {
		path := fmt.Sprintf("slos[%d]", i)
		obj, err := o.objective()
		if err != nil {
			errs = append(errs, errAt(path, "%v", err))
			continue
		}
		sc.Objectives = append(sc.Objectives, obj)
		if m, ok := reports.LookupMetric(obj.Metric); ok && m.NeedsQuotes && sc.QuoteSubscribers == 0 {
			errs = append(errs, errAt(path, "%s is measured by the quote subscribers, and load.quote_subscribers is 0: "+
				"set load.quote_subscribers to at least 1, or remove the objective", obj.Metric))
		}
	}
	for _, err := range reports.ValidateObjectives(sc.Objectives, faultNames) {
		errs = append(errs, errAt("slos", "%v", err))
	}

	switch s.Reconcile {
	case "", "strict":
	case "off":
		sc.Reconcile = false
	default:
		errs = append(errs, errAt("reconcile", "%q is not one of: strict, off", s.Reconcile))
	}
	if s.Drain != "" {
		if d, err := parseDuration(s.Drain); err != nil {
			errs = append(errs, errAt("drain", "%v", err))
		} else {
			sc.Drain = d
		}
	}
	return sc, errs
}

// resolve checks load.bettors and applies its defaults; seed is the
// scenario's.
func (b *BettorsSpec) resolve(seed int64) (*bettors.Config, []error) {
	var errs []error
	cfg := &bettors.Config{Seed: seed, Bettors: b.Count, Rate: b.Rate, MaxStake: b.MaxStake, Prefix: DefaultBettorPrefix}
	if b.Seed != nil {
		cfg.Seed = *b.Seed
	}
	if b.Count < 1 || b.Count > bettors.MaxBettors {
		errs = append(errs, errAt("load.bettors.count", "must be between 1 and %d, not %d", bettors.MaxBettors, b.Count))
	}
	if !(b.Rate > 0 && b.Rate <= bettors.MaxRate) {
		errs = append(errs, errAt("load.bettors.rate", "must be above 0 and at most %d (bets per bettor per in-play hour), not %g", bettors.MaxRate, b.Rate))
	}
	if b.MaxStake < 1 || b.MaxStake > bettors.MaxMaxStake {
		errs = append(errs, errAt("load.bettors.max_stake", "must be between 1 and %d (minor units), not %d", int64(bettors.MaxMaxStake), b.MaxStake))
	}
	if m := b.PolicyMix; m != nil {
		cfg.PolicyMix = bettors.PolicyMix{Exact: m.Exact, Better: m.Better, Any: m.Any}
		if m.Exact < 0 || m.Better < 0 || m.Any < 0 || m.Exact+m.Better+m.Any != 100 {
			errs = append(errs, errAt("load.bettors.policy_mix", "is exact %d, better %d, any %d: each a percentage of the bettors, at least 0, summing to 100",
				m.Exact, m.Better, m.Any))
		}
	}
	if b.IDPrefix != nil {
		cfg.Prefix = *b.IDPrefix
		if err := bettors.CheckPrefix(cfg.Prefix); err != nil {
			errs = append(errs, errAt("load.bettors.id_prefix", "%v", err))
		}
	}
	return cfg, errs
}

// Plan returns the fault plan for a run that reaches reach: the
// scenario's faults, then its random plan drawn for that run, checked
// together.
func (sc *Scenario) Plan(reach chaos.Reach) ([]chaos.Fault, []error) {
	plan := append([]chaos.Fault{}, sc.Faults...)
	if sc.Random != nil {
		drawn, errs := chaos.RandomPlan(*sc.Random, reach)
		if errs != nil {
			return nil, errs
		}
		plan = append(plan, drawn...)
	}
	if errs := chaos.ValidateFaults(plan, reach); errs != nil {
		return nil, errs
	}
	return plan, nil
}

// Defaults of a random plan.
const (
	DefaultRandomMinFor = time.Second
	DefaultRandomMaxFor = 10 * time.Second
)

// resolve parses a random plan's durations and applies its defaults; until
// defaults to the generated load's wall duration.
func (r *RandomSpec) resolve(sc *Scenario) (*chaos.Random, []error) {
	var errs []error
	out := &chaos.Random{Seed: sc.Seed, Count: r.Count, Kinds: r.Kinds, Targets: r.Targets,
		MinFor: DefaultRandomMinFor, MaxFor: DefaultRandomMaxFor}
	if r.Seed != nil {
		out.Seed = *r.Seed
	}
	for _, d := range []struct {
		key string
		in  string
		out *time.Duration
	}{
		{"min_for", r.MinFor, &out.MinFor}, {"max_for", r.MaxFor, &out.MaxFor},
		{"from", r.From, &out.From}, {"until", r.Until, &out.Until},
	} {
		if d.in == "" {
			continue
		}
		v, err := parseDuration(d.in)
		if err != nil {
			errs = append(errs, errAt("faults.random."+d.key, "%v", err))
			continue
		}
		*d.out = v
	}
	if r.Until == "" {
		if sc.Generate == nil || sc.Generate.Duration == 0 {
			errs = append(errs, errAt("faults.random", "needs until (the latest a fault may heal) when the load is not generated"))
		} else {
			out.Until = time.Duration(float64(sc.Generate.Duration) / sc.Speed).Truncate(time.Millisecond)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// objective turns {metric, phase, STAT: limit} into a reports.Objective:
// the statistics are reports' table (reports.Stats), and the metric's unit
// says how its limit is written (a duration, or a percentage).
func (o SLOSpec) objective() (reports.Objective, error) {
	obj := reports.Objective{Metric: o.Metric, Phase: o.Phase}
	if obj.Phase == "" {
		obj.Phase = reports.PhaseAll
	}
	limits := o.limits()
	var set, names []string
	var value string
	for _, st := range reports.Stats() {
		names = append(names, st.Name)
		if v := limits[st.Name]; v != "" {
			set = append(set, st.Name)
			obj.Stat, value = st.Name, v
		}
	}
	switch len(set) {
	case 0:
		return obj, fmt.Errorf("metric %s needs one limit: %s", o.Metric, strings.Join(names, ", "))
	case 1:
	default:
		return obj, fmt.Errorf("metric %s has %d limits (%s); write one objective per limit", o.Metric, len(set), strings.Join(set, ", "))
	}
	m, ok := reports.LookupMetric(o.Metric)
	if !ok {
		// Unknown metrics are reported by reports.ValidateObjectives.
		return obj, nil
	}
	if !slices.Contains(m.Stats, obj.Stat) {
		return obj, fmt.Errorf("%s takes %s, not %s", o.Metric, strings.Join(m.Stats, ", "), obj.Stat)
	}
	switch m.Unit {
	case reports.UnitPercent:
		pct, ok := strings.CutSuffix(strings.TrimSpace(value), "%")
		v, err := strconv.ParseFloat(pct, 64)
		if !ok || err != nil || v < 0 || v > 100 {
			return obj, fmt.Errorf("%s limit %q must be a percentage between 0%% and 100%%, e.g. 0.5%%", o.Metric, value)
		}
		obj.Limit = v
	case reports.UnitMS:
		d, err := parseDuration(value)
		if err != nil {
			return obj, fmt.Errorf("%s %s limit %v", o.Metric, obj.Stat, err)
		}
		obj.Limit = float64(d) / float64(time.Millisecond)
	default:
		return obj, fmt.Errorf("%s has unit %q, which a scenario cannot write a limit in", o.Metric, m.Unit)
	}
	return obj, nil
}
