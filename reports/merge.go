package reports

import (
	"cmp"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// Part is one shard of a sharded run, as `inplay merge` reads its folder:
// its run as Evaluate takes it (the journal read from journal.jsonl, the
// ledger from ledger.jsonl, its faults, objectives and settings from its
// report.json and scenario.yaml), and its own report.json, for what the
// folder keeps no record of (what the quote subscribers saw).
type Part struct {
	Input  Input
	Report *Report
}

// MergeShards reaches the verdict of a sharded run from its shards
// (docs/scale-out.md), as Evaluate would have for the run unsharded:
//
//   - load: every shard's bettor requests, and shard 0's feed messages (the
//     feed is the same in every shard's plan, so it is counted once);
//   - objectives: each one over every shard's samples in one histogram, a
//     phase judged on each shard's own fault clock, so a merged p99 is the
//     p99 of all samples, not a mean of p99s. quote_latency and
//     odds_staleness are shard 0's as it measured them: no folder keeps the
//     quote subscribers' observations, and the feed goes through shard 0;
//   - invariants: each shard's journal against its own ledger, merged by
//     name: an invariant passes when it passes in every shard, and its
//     witnesses name their shard;
//   - validity: dropped requests, schedule lag over the bound, a fault that
//     did not land or a journal that could not be read, in any shard, make
//     the merge invalid, as they would a run.
//
// It returns an error, and no report, when the parts are not the shards of
// one run: different scenarios, seeds, captures, speeds, headrooms or shard
// counts, an index missing or given twice.
func MergeShards(parts []Part) (*Report, error) {
	parts = slices.Clone(parts)
	if err := checkShards(parts); err != nil {
		return nil, err
	}
	slices.SortFunc(parts, func(a, b Part) int { return cmp.Compare(a.Input.Shard.Index, b.Input.Shard.Index) })
	first := parts[0].Input
	var wall time.Duration
	started := first.StartedAt
	for _, p := range parts {
		wall = max(wall, p.Input.Wall)
		if p.Input.StartedAt.Before(started) {
			started = p.Input.StartedAt
		}
	}
	r := &Report{
		Schema:   Schema,
		Scenario: ScenarioRef{Name: first.ScenarioName, Seed: first.Seed},
		Run: RunInfo{
			ID:            "merged-" + first.RunID,
			StartedAt:     started.UTC(),
			WallS:         wall.Seconds(),
			Speed:         first.Speed,
			Headroom:      first.Headroom,
			CaptureSHA256: first.CaptureSHA256,
			StackSource:   first.StackSource,
			Shards:        len(parts),
			Build:         currentBuild(),
			Host:          currentHost(),
		},
		Faults:     []Fault{},
		SLOs:       []SLOResult{},
		Invariants: []Invariant{},
		Problems:   []string{},
	}

	// Each shard's journal, read again by each pass, with its read error
	// kept; the merged journal is every shard's bettor entries and shard
	// 0's feed entries.
	jerrs := make([]error, len(parts))
	journals := make([]iter.Seq[replay.JournalEntry], len(parts))
	for i, p := range parts {
		journals[i] = p.Input.entries(&jerrs[i])
	}
	merged := func(yield func(replay.JournalEntry) bool) {
		for i, j := range journals {
			for e := range j {
				if e.Kind.IsFeed() && i > 0 {
					continue
				}
				if !yield(e) {
					return
				}
			}
		}
	}
	r.Load = loadStats(merged, wall)
	r.Timeline = mergeTimeline(merged, wall, parts[0].Report)
	entries := r.Load.Planned
	// Each shard planned the whole feed; the merge counts shard 0's.
	planned := 0
	for i, p := range parts {
		planned += p.Input.Planned
		if i == 0 {
			continue
		}
		for e := range journals[i] {
			if e.Kind.IsFeed() {
				planned--
			}
		}
	}
	r.Load.Planned = max(r.Load.Planned, planned)
	if q := parts[0].Report.Load.Quotes; q.Subscribers > 0 {
		r.Load.Quotes = q
	}

	maxLag := first.MaxScheduleLag
	if maxLag <= 0 {
		maxLag = DefaultMaxScheduleLag
	}
	invalid := false
	if entries == 0 {
		invalid = true
		r.Problems = append(r.Problems, "the journals are empty: nothing was sent, so nothing was measured")
	}
	if p := generatorProblems(r.Load, maxLag); len(p) > 0 {
		invalid = true
		r.Problems = append(r.Problems, p...) // over every shard's requests
	}
	for _, p := range parts {
		for _, f := range p.Input.Faults {
			f.Name = fmt.Sprintf("shard-%d/%s", p.Input.Shard.Index, f.Name)
			r.Faults = append(r.Faults, f)
			if !f.Injected || !f.Landed {
				invalid = true
				evidence := cmp.Or(f.Evidence, "no evidence recorded")
				r.Problems = append(r.Problems, fmt.Sprintf("fault %q did not land: %s", f.Name, evidence))
			}
		}
	}

	// Every shard ran the same plan: shard 0's fault names are everyone's,
	// and a fault phase is judged on each shard's own window of it.
	names := faultNames(first.Faults)
	for _, err := range ValidateObjectives(first.Objectives, names) {
		r.Problems = append(r.Problems, err.Error())
	}
	for _, o := range expandObjectives(first.Objectives, first.Faults) {
		r.SLOs = append(r.SLOs, mergeObjective(o, parts, journals, names))
	}

	drainTimedOut := false
	if first.Reconcile {
		var per [][]Invariant
		for i, p := range parts {
			if p.Input.Ledger == nil {
				invalid = true
				r.Problems = append(r.Problems, fmt.Sprintf("shard %d: reconciliation was requested but no ledger was read", p.Input.Shard.Index))
				continue
			}
			per = append(per, ReconcileEntries(journals[i], p.Input.Ledger, p.Input.reconcileOptions()))
		}
		r.Invariants = mergeInvariants(parts, per)
	}
	interrupted := false
	for i, p := range parts {
		if jerrs[i] != nil {
			invalid = true
			r.Problems = append(r.Problems, fmt.Sprintf("shard %d: reading the journal: %v", p.Input.Shard.Index, jerrs[i]))
		}
		drainTimedOut = drainTimedOut || p.Input.DrainTimedOut
		interrupted = interrupted || p.Input.Interrupted
	}
	if drainTimedOut {
		r.Problems = append(r.Problems, "the drain timed out in a shard: some resulted markets were not settled within the bound")
	}
	r.ExitCode, r.Verdict = verdict(r.Invariants, invalid, r.SLOs)
	if err := errors.Join(jerrs...); err != nil {
		r.ExitCode, r.Verdict = ExitInvalid, VerdictInvalid
	}
	if interrupted {
		r.Interrupted = true
		r.ExitCode, r.Verdict = ExitInterrupted, VerdictInterrupted
		r.Problems = append([]string{"a shard was interrupted by a signal: this report holds what was measured until then, and no verdict"}, r.Problems...)
	}
	return r, nil
}

// checkShards says why parts are not the n shards of one run, or nil.
func checkShards(parts []Part) error {
	if len(parts) == 0 {
		return errors.New("merge: no shards given")
	}
	var problems []error
	first := parts[0].Input
	seen := map[int]bool{}
	for i, p := range parts {
		in := p.Input
		if in.Shard == nil {
			problems = append(problems, fmt.Errorf("part %d (run %s) is not a shard: it was not run with --shard", i+1, in.RunID))
			continue
		}
		if in.Shard.Count != len(parts) {
			problems = append(problems, fmt.Errorf("run %s is shard %d of %d, but %d shards were given", in.RunID, in.Shard.Index, in.Shard.Count, len(parts)))
		}
		if seen[in.Shard.Index] {
			problems = append(problems, fmt.Errorf("shard %d is given twice", in.Shard.Index))
		}
		seen[in.Shard.Index] = true
		for _, d := range []struct {
			what      string
			got, want any
		}{
			{"scenario", in.ScenarioName, first.ScenarioName},
			{"seed", in.Seed, first.Seed},
			{"capture (sha256)", in.CaptureSHA256, first.CaptureSHA256},
			{"speed", in.Speed, first.Speed},
			{"headroom", in.Headroom, first.Headroom},
		} {
			if d.got != d.want {
				problems = append(problems, fmt.Errorf("run %s has %s %v, but run %s has %v: not shards of one run", in.RunID, d.what, d.got, first.RunID, d.want))
			}
		}
	}
	for i := range len(parts) {
		if !seen[i] && len(problems) == 0 {
			problems = append(problems, fmt.Errorf("shard %d of %d is missing", i, len(parts)))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("merge: %w", errors.Join(problems...))
	}
	return nil
}

// mergeObjective evaluates o over every shard's samples, each shard's
// phases on its own fault clock; a quote objective is shard 0's as it
// measured it.
func mergeObjective(o Objective, parts []Part, journals []iter.Seq[replay.JournalEntry], faults []string) SLOResult {
	o, res, m, ok := begin(o, faults)
	if !ok {
		return res
	}
	if m.NeedsQuotes {
		for _, got := range parts[0].Report.SLOs {
			if got.Metric == res.Metric && got.Phase == res.Phase && got.Objective == res.Objective {
				got.Note = join(got.Note, "shard 0's, as it measured it: the feed goes through shard 0, and no run folder keeps the quote observations")
				return got
			}
		}
		conclude(&res, o, m, newHistogram(), 0, 0)
		res.Note += " (shard 0's report has no result for it)"
		return res
	}
	h := newHistogram()
	var n, ones int
	for i, p := range parts {
		obs := newObservedFrom(p.Input, journals[i])
		ph := newPhaser(p.Input.Faults)
		for s := range m.measure(obs) {
			if !ph.in(o.Phase, s.atUS) {
				continue
			}
			n++
			if m.Unit == UnitPercent {
				ones += int(s.value)
			} else {
				record(h, s.value)
			}
		}
	}
	conclude(&res, o, m, h, n, ones)
	return res
}

// mergeInvariants merges each shard's invariants by name, in the order the
// first shard lists them: checked and violations add up, it fails when it
// fails in some shard, passes when it passes in some shard and fails in
// none, and is not checked when no shard checked it; each witness names its
// shard.
func mergeInvariants(parts []Part, per [][]Invariant) []Invariant {
	var out []Invariant
	at := map[string]int{}
	for i, invs := range per {
		for _, inv := range invs {
			j, ok := at[inv.Name]
			if !ok {
				j = len(out)
				at[inv.Name] = j
				out = append(out, Invariant{Name: inv.Name, Status: StatusNotChecked, Witnesses: []Witness{}})
			}
			m := &out[j]
			m.Checked += inv.Checked
			m.Violations += inv.Violations
			switch {
			case inv.Failed():
				m.Status = StatusFail
			case inv.Status != StatusNotChecked && m.Status == StatusNotChecked:
				m.Status = StatusPass
			}
			m.Pass = m.Status == StatusPass
			for _, w := range inv.Witnesses {
				w.Why = fmt.Sprintf("shard %d: %s", parts[i].Input.Shard.Index, w.Why)
				m.Witnesses = append(m.Witnesses, w)
			}
			if inv.Note != "" {
				m.Note = join(m.Note, fmt.Sprintf("shard %d: %s", parts[i].Input.Shard.Index, inv.Note))
			}
		}
	}
	return out
}

// join joins two notes with "; ", either possibly empty.
func join(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + "; " + b
}
