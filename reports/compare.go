package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Defaults of a comparison (CompareOptions).
const (
	// DefaultMaxRegressionPct is how much worse an objective's observed
	// value may get, in percent of the base's, before it is a regression.
	DefaultMaxRegressionPct = 10
	// DefaultFloorMS is the least a latency must grow by, in milliseconds,
	// to be a regression at all: 0.2 ms to 0.3 ms is 50% worse and noise.
	DefaultFloorMS = 1
	// DefaultFloorPct is the least a ratio (error_rate) must grow by, in
	// percentage points, to be a regression: 0% to 0.05% is one request
	// in two thousand.
	DefaultFloorPct = 0.1
)

// CompareOptions bound what counts as a regression. The zero value is the
// strictest comparison: any worsening at all; DefaultCompareOptions is the
// usual one.
type CompareOptions struct {
	MaxRegressionPct float64 `json:"max_regression_pct"` // worse by more than this percent of the base's value
	FloorMS          float64 `json:"floor_ms"`           // and, for a latency, by more than this many ms
	FloorPct         float64 `json:"floor_pct"`          // and, for a ratio, by more than this many percentage points
	// AnyScenario compares reports of different scenarios, which Compare
	// otherwise refuses: their objectives rarely mean the same thing.
	AnyScenario bool `json:"any_scenario"`
}

// DefaultCompareOptions returns the defaults: 10% worse, and at least 1 ms
// or 0.1 percentage points.
func DefaultCompareOptions() CompareOptions {
	return CompareOptions{MaxRegressionPct: DefaultMaxRegressionPct, FloorMS: DefaultFloorMS, FloorPct: DefaultFloorPct}
}

// Comparison is a regression table of one run against a baseline: what
// inplay compare prints, and its --json.
type Comparison struct {
	Base        RunRef            `json:"base"`
	New         RunRef            `json:"new"`
	Options     CompareOptions    `json:"options"`
	SLOs        []SLOChange       `json:"slos"`
	Load        []LoadChange      `json:"load"`
	Invariants  []InvariantChange `json:"invariants"`
	Notes       []string          `json:"notes"`       // what a reader must know: a run that is invalid, loads that differ
	Regressions []string          `json:"regressions"` // one sentence per regression; none: the new run is no worse
}

// RunRef names a compared run.
type RunRef struct {
	Scenario string `json:"scenario"`
	RunID    string `json:"run_id"`
	Verdict  string `json:"verdict"`
	ExitCode int    `json:"exit_code"`
}

// SLOChange is one objective, matched in both runs by metric, phase and
// statistic (its limit may differ). Base or New is nil when that run had no
// samples, or no such objective (then Only says which run has it).
type SLOChange struct {
	Metric    string   `json:"metric"`
	Phase     string   `json:"phase"`
	Stat      string   `json:"stat"`
	Unit      string   `json:"unit"`
	Base      *float64 `json:"base"`
	New       *float64 `json:"new"`
	ChangePct *float64 `json:"change_pct"` // (new − base) / base × 100; nil when either is missing or base is 0
	Only      string   `json:"only,omitempty"`
	Regressed bool     `json:"regressed"`
}

// LoadChange is one load figure of both runs. Load figures are context,
// never regressions: a run that sent less is a different run, which Notes
// says.
type LoadChange struct {
	Name      string   `json:"name"`
	Base      float64  `json:"base"`
	New       float64  `json:"new"`
	ChangePct *float64 `json:"change_pct"`
}

// InvariantChange is one invariant of either run.
type InvariantChange struct {
	Name      string `json:"name"`
	Base      string `json:"base"` // pass, fail, or "" when that run did not check it
	New       string `json:"new"`
	Regressed bool   `json:"regressed"` // it passed in the base and fails now
}

// Compare compares the report of a new run with a baseline's:
//
//   - an objective regresses when it is in both and the new observed value
//     is higher (every metric is better lower) by more than
//     opt.MaxRegressionPct of the base's and by more than the floor of its
//     unit (FloorMS, FloorPct) at once, so that tiny values moving within
//     noise are not regressions; from a base of 0, any growth beyond the
//     floor is. An objective measured in the base and with no samples now
//     regresses too: the new run cannot show it held;
//   - an invariant regresses when it passed in the base and fails now;
//   - load figures are shown, never judged; a send rate that differs by
//     more than the bound is noted, as the runs are then not like for like.
//
// It returns an error when the reports are of different scenarios (unless
// opt.AnyScenario) or opt is negative.
func Compare(base, next *Report, opt CompareOptions) (*Comparison, error) {
	if opt.MaxRegressionPct < 0 || opt.FloorMS < 0 || opt.FloorPct < 0 {
		return nil, errors.New("the regression bound and floors must not be negative")
	}
	if base.Scenario.Name != next.Scenario.Name && !opt.AnyScenario {
		return nil, fmt.Errorf("the reports are of different scenarios (%q and %q): their objectives and load need not mean the same; compare them anyway with --any-scenario",
			base.Scenario.Name, next.Scenario.Name)
	}
	c := &Comparison{
		Base:        runRef(base),
		New:         runRef(next),
		Options:     opt,
		SLOs:        []SLOChange{},
		Load:        []LoadChange{},
		Invariants:  []InvariantChange{},
		Notes:       []string{},
		Regressions: []string{},
	}
	for _, r := range []struct {
		which string
		rep   *Report
	}{{"base", base}, {"new", next}} {
		switch {
		case r.rep.Verdict == VerdictInvalid:
			c.Notes = append(c.Notes, fmt.Sprintf("the %s run is invalid (exit %d): its measurements are not trustworthy", r.which, r.rep.ExitCode))
		case r.rep.Interrupted:
			c.Notes = append(c.Notes, fmt.Sprintf("the %s run was interrupted: it measured part of its plan", r.which))
		case r.which == "new" && r.rep.ExitCode != ExitPass:
			c.Notes = append(c.Notes, fmt.Sprintf("the new run itself fails (exit %d); compare judges only what changed from the base", r.rep.ExitCode))
		}
	}
	if base.Scenario.Seed != next.Scenario.Seed {
		c.Notes = append(c.Notes, fmt.Sprintf("the runs have different seeds (%d and %d)", base.Scenario.Seed, next.Scenario.Seed))
	}

	c.compareSLOs(base.SLOs, next.SLOs)
	c.compareLoad(base.Load, next.Load)
	c.compareInvariants(base.Invariants, next.Invariants)
	return c, nil
}

func runRef(r *Report) RunRef {
	return RunRef{Scenario: r.Scenario.Name, RunID: r.Run.ID, Verdict: r.Verdict, ExitCode: r.ExitCode}
}

// sloKey matches an objective across runs. A report from before slos[].stat
// has the objective's text as its statistic, matched whole, never parsed.
func sloKey(s SLOResult) string {
	stat := s.Stat
	if stat == "" {
		stat = s.Objective
	}
	return s.Metric + "\x00" + s.Phase + "\x00" + stat
}

func (c *Comparison) compareSLOs(base, next []SLOResult) {
	inNew := map[string]SLOResult{}
	for _, s := range next {
		inNew[sloKey(s)] = s
	}
	seen := map[string]bool{}
	for _, b := range base {
		k := sloKey(b)
		seen[k] = true
		ch := SLOChange{Metric: b.Metric, Phase: b.Phase, Stat: cmpStat(b), Unit: b.Unit, Base: b.Observed}
		n, ok := inNew[k]
		if !ok {
			ch.Only = "base"
			c.SLOs = append(c.SLOs, ch)
			continue
		}
		ch.New = n.Observed
		if ch.Base != nil && ch.New != nil && *ch.Base != 0 {
			pct := (*ch.New - *ch.Base) / *ch.Base * 100
			ch.ChangePct = &pct
		}
		if why := c.sloRegression(ch); why != "" {
			ch.Regressed = true
			c.Regressions = append(c.Regressions, fmt.Sprintf("%s %s %s: %s", ch.Metric, ch.Phase, ch.Stat, why))
		}
		c.SLOs = append(c.SLOs, ch)
	}
	for _, n := range next {
		if !seen[sloKey(n)] {
			c.SLOs = append(c.SLOs, SLOChange{Metric: n.Metric, Phase: n.Phase, Stat: cmpStat(n), Unit: n.Unit, New: n.Observed, Only: "new"})
		}
	}
}

func cmpStat(s SLOResult) string {
	if s.Stat == "" {
		return s.Objective
	}
	return s.Stat
}

// sloRegression says why ch is a regression, or "" when it is not.
func (c *Comparison) sloRegression(ch SLOChange) string {
	switch {
	case ch.Base == nil:
		return "" // nothing to regress from
	case ch.New == nil:
		return fmt.Sprintf("measured %s in the base, no samples now", valueText(*ch.Base, ch.Unit))
	}
	delta := *ch.New - *ch.Base
	floor := c.Options.FloorMS
	if ch.Unit == UnitPercent {
		floor = c.Options.FloorPct
	}
	if delta <= floor {
		return ""
	}
	if ch.ChangePct != nil && *ch.ChangePct <= c.Options.MaxRegressionPct {
		return ""
	}
	change := "from nothing"
	if ch.ChangePct != nil {
		change = fmt.Sprintf("%+.1f%%", *ch.ChangePct)
	}
	return fmt.Sprintf("%s → %s (%s, more than %s%% and %s worse)",
		valueText(*ch.Base, ch.Unit), valueText(*ch.New, ch.Unit), change, num(c.Options.MaxRegressionPct), valueText(floor, ch.Unit))
}

func (c *Comparison) compareLoad(base, next Load) {
	for _, f := range []struct {
		name      string
		base, new float64
	}{
		{"rate_per_s", base.RatePerS, next.RatePerS},
		{"sent", float64(base.Sent), float64(next.Sent)},
		{"dropped", float64(base.Dropped), float64(next.Dropped)},
		{"schedule_lag_p99_ms", base.ScheduleLagP99MS, next.ScheduleLagP99MS},
		{"bets.accepted", float64(base.Bets.Accepted), float64(next.Bets.Accepted)},
		{"bets.rejected", float64(base.Bets.Rejected), float64(next.Bets.Rejected)},
		{"bets.unknown", float64(base.Bets.Unknown), float64(next.Bets.Unknown)},
	} {
		ch := LoadChange{Name: f.name, Base: f.base, New: f.new}
		if f.base != 0 {
			pct := (f.new - f.base) / f.base * 100
			ch.ChangePct = &pct
		}
		c.Load = append(c.Load, ch)
	}
	if base.RatePerS > 0 && math.Abs(next.RatePerS-base.RatePerS)/base.RatePerS*100 > c.Options.MaxRegressionPct {
		c.Notes = append(c.Notes, fmt.Sprintf("the send rates differ by more than %s%% (%.1f/s and %.1f/s): the runs are not like for like",
			num(c.Options.MaxRegressionPct), base.RatePerS, next.RatePerS))
	}
}

func (c *Comparison) compareInvariants(base, next []Invariant) {
	state := func(inv Invariant) string {
		if inv.Pass {
			return "pass"
		}
		return "fail"
	}
	inNew := map[string]Invariant{}
	for _, inv := range next {
		inNew[inv.Name] = inv
	}
	seen := map[string]bool{}
	for _, b := range base {
		seen[b.Name] = true
		ch := InvariantChange{Name: b.Name, Base: state(b)}
		if n, ok := inNew[b.Name]; ok {
			ch.New = state(n)
			if b.Pass && !n.Pass {
				ch.Regressed = true
				c.Regressions = append(c.Regressions, fmt.Sprintf("invariant %s: passed in the base, fails now (%d violations)", b.Name, n.Violations))
			}
		}
		c.Invariants = append(c.Invariants, ch)
	}
	for _, n := range next {
		if !seen[n.Name] {
			c.Invariants = append(c.Invariants, InvariantChange{Name: n.Name, New: state(n)})
		}
	}
}

// Regressed reports whether the new run regressed against the base.
func (c *Comparison) Regressed() bool { return len(c.Regressions) > 0 }

// WriteText writes the comparison as tables for a terminal or a CI log.
func (c *Comparison) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "compare %s: base %s (%s, exit %d) → new %s (%s, exit %d)\n",
		c.New.Scenario, c.Base.RunID, c.Base.Verdict, c.Base.ExitCode, c.New.RunID, c.New.Verdict, c.New.ExitCode)
	fmt.Fprintf(&b, "a regression: an objective worse by more than %s%% and by more than %s (a latency) or %s points (a ratio); a passing invariant that fails\n",
		num(c.Options.MaxRegressionPct), valueText(c.Options.FloorMS, UnitMS), num(c.Options.FloorPct))
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "\nSLO\tphase\tstat\tbase\tnew\tchange\t\n")
	for _, s := range c.SLOs {
		mark := ""
		switch {
		case s.Regressed:
			mark = "REGRESSION"
		case s.Only != "":
			mark = "only in " + s.Only
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Metric, s.Phase, s.Stat,
			optValue(s.Base, s.Unit), optValue(s.New, s.Unit), changeText(s.ChangePct), mark)
	}
	fmt.Fprint(tw, "\nload\t\t\tbase\tnew\tchange\t\n")
	for _, l := range c.Load {
		fmt.Fprintf(tw, "%s\t\t\t%s\t%s\t%s\t\n", l.Name, figure(l.Base), figure(l.New), changeText(l.ChangePct))
	}
	if len(c.Invariants) > 0 {
		fmt.Fprint(tw, "\ninvariant\t\t\tbase\tnew\t\t\n")
		for _, inv := range c.Invariants {
			mark := ""
			if inv.Regressed {
				mark = "REGRESSION"
			}
			fmt.Fprintf(tw, "%s\t\t\t%s\t%s\t\t%s\n", inv.Name, orDash(inv.Base), orDash(inv.New), mark)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(c.Regressions) == 0 {
		b.WriteString("\nno regressions\n")
	} else {
		fmt.Fprintf(&b, "\n%d regression(s):\n", len(c.Regressions))
		for _, r := range c.Regressions {
			fmt.Fprintf(&b, "  - %s\n", r)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// ReadReport reads a report.json. It refuses a file that is not one: not
// JSON, or without the schema of this version.
func ReadReport(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s is not a report.json: %v", path, err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("%s is not a report.json: its schema is %q, not %q", path, r.Schema, Schema)
	}
	return &r, nil
}

// valueText renders a value in its unit: "12.5ms", "0.5%".
func valueText(v float64, unit string) string {
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64) + unit
}

func optValue(v *float64, unit string) string {
	if v == nil {
		return "—"
	}
	return valueText(*v, unit)
}

func changeText(pct *float64) string {
	if pct == nil {
		return "—"
	}
	return fmt.Sprintf("%+.1f%%", *pct)
}

func figure(f float64) string { return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64) }

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return strings.TrimSpace(s)
}
