package reports

import (
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/inplaylabs/inplay/replay"
)

// Schema is the value of report.json's "schema" field.
const Schema = "inplay.report/v1"

// Verdicts of a Report.
const (
	VerdictPass    = "pass"
	VerdictFail    = "fail"
	VerdictInvalid = "invalid"
	// VerdictInterrupted: the run was stopped by a signal before it ended;
	// the report holds what it measured until then.
	VerdictInterrupted = "interrupted"
)

// Exit codes a Report can carry: herr's table (DESIGN.md, "Exit codes"),
// which the CLI exits with. Codes 3 and 4 mean there is no verdict at all,
// so no Report carries them.
const (
	ExitPass        = herr.ExitPass
	ExitSLOBreached = herr.ExitSLO
	ExitReconcile   = herr.ExitReconcile
	ExitInvalid     = herr.ExitInvalid
	ExitInterrupted = herr.ExitInterrupted
)

// ProblemDrainTimedOut is the problem a report lists when its drain timed
// out (Input.DrainTimedOut), as report.json says it.
const ProblemDrainTimedOut = "the drain timed out: some resulted markets were not settled within the bound"

// DefaultMaxScheduleLag is the schedule lag p99 beyond which a run's
// measurements are not trusted, when Input leaves it zero.
const DefaultMaxScheduleLag = 50 * time.Millisecond

// Report is the verdict of one run: the contents of report.json. The JSON
// names are a contract (DESIGN.md, "report.json"); fields may be added,
// never renamed.
type Report struct {
	Schema     string      `json:"schema"`
	Verdict    string      `json:"verdict"`
	ExitCode   int         `json:"exit_code"`
	Scenario   ScenarioRef `json:"scenario"`
	Run        RunInfo     `json:"run"`
	Load       Load        `json:"load"`
	SLOs       []SLOResult `json:"slos"`
	Invariants []Invariant `json:"invariants"`
	Faults     []Fault     `json:"faults"`
	Problems   []string    `json:"problems"` // why the run is invalid, and other things a reader must know
	// Interrupted is set when a signal stopped the run before its end: the
	// verdict is "interrupted", the exit code 130, and everything else is
	// what was measured until then.
	Interrupted bool `json:"interrupted"`
	// Timeline is the run over time, for the charts; absent when there
	// is no journal (a run another tool made).
	Timeline *Timeline `json:"timeline,omitempty"`
}

// ScenarioRef names the scenario a run executed.
type ScenarioRef struct {
	Name string `json:"name"`
	Seed int64  `json:"seed"`
}

// RunInfo describes one run.
type RunInfo struct {
	ID            string    `json:"id"`
	StartedAt     time.Time `json:"started_at"`
	WallS         float64   `json:"wall_s"`
	Speed         float64   `json:"speed"`
	Headroom      float64   `json:"headroom"`
	CaptureSHA256 string    `json:"capture_sha256"`
	StackSource   string    `json:"stack_source"`
	// Shard is set on the report of one shard of a sharded run (inplay run
	// --shard i/n); Shards on the report inplay merge makes of all n.
	Shard  *ShardInfo `json:"shard,omitempty"`
	Shards int        `json:"shards,omitempty"`
	// Build is the inplay binary that reached the verdict, Host the
	// machine it ran on: the run manifest's versions.
	Build *BuildInfo `json:"build,omitempty"`
	Host  string     `json:"host,omitempty"`
}

// ShardInfo says which part of a sharded run a report is: shard Index of
// Count (docs/scale-out.md).
type ShardInfo struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Load is what the generator planned and did, from the journal.
type Load struct {
	Planned          int        `json:"planned"`
	Sent             int        `json:"sent"`
	Dropped          int        `json:"dropped"`
	RatePerS         float64    `json:"rate_per_s"`
	ScheduleLagP99MS float64    `json:"schedule_lag_p99_ms"`
	Bets             BetCount   `json:"bets"`
	Quotes           QuoteCount `json:"quotes"`
}

// QuoteCount is what the quote subscribers did: how many watched the quote
// stream, how many quotes they received together, and how often a
// connection of theirs ended before the run did. All zero when the run had
// no subscribers.
type QuoteCount struct {
	Subscribers int   `json:"subscribers"`
	Received    int64 `json:"received"`
	Disconnects int64 `json:"disconnects"`
}

// BetCount counts bet requests by outcome.
type BetCount struct {
	Sent     int `json:"sent"`
	Accepted int `json:"accepted"`
	Rejected int `json:"rejected"`
	Unknown  int `json:"unknown"`
}

// Fault is one fault of the plan as it happened: a report.json faults[]
// entry. Times are seconds from the replay's start. reports defines its own
// type rather than importing chaos, so that the verdict depends only on what
// was recorded. Injected says the fault went in at all; InjectedAtS and
// HealedAtS mean nothing when it is false. A fault that was not injected,
// or did not land, makes the run invalid.
type Fault struct {
	Name        string  `json:"name"`
	Target      string  `json:"target"`
	Kind        string  `json:"kind"`
	Injected    bool    `json:"injected"`
	InjectedAtS float64 `json:"injected_at_s"`
	HealedAtS   float64 `json:"healed_at_s"`
	Healed      bool    `json:"healed"`
	Landed      bool    `json:"landed"`
	Evidence    string  `json:"evidence"`
}

// Input is everything Evaluate needs to reach a verdict.
type Input struct {
	ScenarioName  string
	Seed          int64
	RunID         string
	StartedAt     time.Time // the replay clock's zero: journal times are offsets from it
	Wall          time.Duration
	Speed         float64
	Headroom      float64
	CaptureSHA256 string
	StackSource   string
	Journal       []replay.JournalEntry
	// JournalFrom, when set, is read instead of Journal, as often as the
	// verdict needs (a few passes: the load, each objective, the
	// reconciliation), so that a journal too big to hold, such as the
	// run's journal.jsonl (JournalFile), is never held whole. Each call
	// gives the entries again, in Seq order; an error ends the pass, and
	// the run is then reported invalid with the error as a problem.
	JournalFrom func() iter.Seq2[replay.JournalEntry, error]
	Ledger      *Ledger // the platform's books: settlement_lag needs them whatever Reconcile says; nil when not read
	// Quotes is what the quote subscribers observed (replay.QuoteSubscribers'
	// Stop), for quote_latency and odds_staleness; nil when none ran.
	Quotes         *replay.QuoteObservations
	Faults         []Fault
	Objectives     []Objective
	Reconcile      bool
	MaxScheduleLag time.Duration // 0 = DefaultMaxScheduleLag
	DrainTimedOut  bool
	// Interrupted says a signal stopped the run at Wall, before its end
	// (the journal holds what was sent until then); Planned is how many
	// requests and feed messages the whole plan had.
	Interrupted bool
	Planned     int
	// Shard is set when the run is one shard of a sharded run.
	Shard *ShardInfo
	// HotState is the platform's hot state read after the drain, for
	// hot_state_matches_ledger; nil leaves that invariant not checked.
	HotState *HotState
	// EventStore is the platform's event store checked after the drain,
	// for postings_append_only and event_store_folds_to_ledger; nil leaves
	// them not checked.
	EventStore *EventStoreCheck
	// InPlayDelay is the platform's in-play delay, for
	// no_bet_accepted_while_suspended; 0 when not known (conservative).
	InPlayDelay time.Duration
}

// reconcileOptions are the ReconcileOptions of a run's Input.
func (in Input) reconcileOptions() ReconcileOptions {
	return ReconcileOptions{DrainTimedOut: in.DrainTimedOut, InPlayDelay: in.InPlayDelay, Faults: in.Faults, HotState: in.HotState, EventStore: in.EventStore}
}

// Evaluate reaches the verdict of one run: load statistics, every SLO per
// phase and, when in.Reconcile is set, every reconciliation invariant. The
// SLOs do not depend on Reconcile: settlement_lag is measured from
// in.Ledger whenever it is there. Reconcile gates only the invariants,
// which are left empty (not failed) when it is off.
//
// The exit code follows a fixed precedence, highest first:
//
//	2  an invariant failed: the money does not add up. A broken ledger is a
//	   fact whatever the load did, so it wins over everything else.
//	5  the measurement is invalid: the generator dropped requests or its
//	   schedule lag p99 exceeded MaxScheduleLag, so the latencies are not
//	   trustworthy; or a fault of the plan was not injected or did not
//	   land, so the run did not test what it claims. Neither a pass nor an
//	   SLO breach can be claimed.
//	1  an SLO was breached.
//	0  pass.
//
// An interrupted run (in.Interrupted) exits 130 with the verdict
// "interrupted" whatever else it found: it did not run what it planned,
// so it can neither pass nor fail. Its invariants and SLOs are still
// evaluated on what it sent, for the reader.
//
// The verdict is "fail" for 1 and 2, "invalid" for 5 and "pass" for 0.
// Problems says why a run is invalid, and notes anything else a reader of
// the verdict must know (an objective that could not be evaluated, a drain
// that timed out).
func Evaluate(in Input) *Report {
	r := &Report{
		Schema:   Schema,
		Scenario: ScenarioRef{Name: in.ScenarioName, Seed: in.Seed},
		Run: RunInfo{
			ID:            in.RunID,
			StartedAt:     in.StartedAt.UTC(),
			WallS:         in.Wall.Seconds(),
			Speed:         in.Speed,
			Headroom:      in.Headroom,
			CaptureSHA256: in.CaptureSHA256,
			StackSource:   in.StackSource,
			Shard:         in.Shard,
			Build:         currentBuild(),
			Host:          currentHost(),
		},
		Faults:     append([]Fault{}, in.Faults...),
		SLOs:       []SLOResult{},
		Invariants: []Invariant{},
		Problems:   []string{},
	}
	maxLag := in.MaxScheduleLag
	if maxLag <= 0 {
		maxLag = DefaultMaxScheduleLag
	}
	var jerr error
	journal := in.entries(&jerr)
	r.Load = loadStats(journal, in.Wall)
	r.Timeline = buildTimeline(in, journal)
	entries := r.Load.Planned
	// An interrupted run's journal ends where it stopped; the plan was more.
	r.Load.Planned = max(r.Load.Planned, in.Planned)
	if q := in.Quotes; q != nil {
		r.Load.Quotes = QuoteCount{Subscribers: len(q.Subscribers), Received: q.Received(), Disconnects: q.Disconnects()}
		if n := q.DecodeErrors(); n > 0 {
			r.Problems = append(r.Problems, fmt.Sprintf(
				"the quote stream sent %d frames the subscribers could not read as a quote or a heartbeat (docs/api.md)", n))
		}
	}

	invalid := false
	if entries == 0 && jerr == nil {
		invalid = true
		r.Problems = append(r.Problems, "the journal is empty: nothing was sent, so nothing was measured")
	}
	if p := generatorProblems(r.Load, maxLag); len(p) > 0 {
		invalid = true
		r.Problems = append(r.Problems, p...)
	}

	for _, f := range in.Faults {
		// A chaos run whose fault did not happen measured a steady run and
		// would report it as surviving the fault.
		evidence := f.Evidence
		if evidence == "" {
			evidence = "no evidence recorded"
		}
		if !f.Injected || !f.Landed {
			invalid = true
			r.Problems = append(r.Problems, fmt.Sprintf("fault %q did not land: %s", f.Name, evidence))
		}
	}

	for _, err := range ValidateObjectives(in.Objectives, faultNames(in.Faults)) {
		r.Problems = append(r.Problems, err.Error())
	}
	r.SLOs = evaluateObjectives(in, journal)

	if in.Reconcile {
		if in.Ledger == nil {
			invalid = true
			r.Problems = append(r.Problems, "reconciliation was requested but no ledger was read")
		} else {
			r.Invariants = ReconcileEntries(journal, in.Ledger, in.reconcileOptions())
		}
	}
	if jerr != nil {
		// Counts, objectives and invariants were computed on part of the
		// journal: nothing can be claimed from them.
		invalid = true
		r.Problems = append(r.Problems, "reading the journal: "+jerr.Error())
	}
	if in.DrainTimedOut {
		r.Problems = append(r.Problems, ProblemDrainTimedOut)
	}

	r.ExitCode, r.Verdict = verdict(r.Invariants, invalid, r.SLOs)
	if jerr != nil {
		// Not even a failed invariant can be claimed from part of a journal.
		r.ExitCode, r.Verdict = ExitInvalid, VerdictInvalid
	}
	if in.Interrupted {
		r.Interrupted = true
		r.ExitCode, r.Verdict = ExitInterrupted, VerdictInterrupted
		r.Problems = append([]string{fmt.Sprintf(
			"the run was interrupted by a signal after %s: %d of %d planned requests and feed messages were sent; this report holds what was measured until then, and no verdict",
			in.Wall.Round(time.Millisecond), r.Load.Sent, r.Load.Planned)}, r.Problems...)
	}
	return r
}

// generatorProblems says how the load generator fell behind, if it did:
// requests dropped, or a schedule lag p99 over maxLag. Either makes the
// measurement invalid.
func generatorProblems(l Load, maxLag time.Duration) []string {
	var out []string
	if l.Dropped > 0 {
		out = append(out, fmt.Sprintf(
			"the generator fell behind: %d of %d planned requests were dropped (no free worker at their send time)",
			l.Dropped, l.Planned))
	}
	if lag := time.Duration(l.ScheduleLagP99MS * float64(time.Millisecond)); lag > maxLag {
		out = append(out, fmt.Sprintf(
			"the generator fell behind: schedule lag p99 %s exceeds the %s bound, so latencies are not trustworthy",
			lag.Round(time.Microsecond), maxLag))
	}
	return out
}

// verdict applies the exit-code precedence documented on Evaluate.
func verdict(invs []Invariant, invalid bool, slos []SLOResult) (int, string) {
	for _, inv := range invs {
		if inv.Failed() { // not_checked fails nothing
			return ExitReconcile, VerdictFail
		}
	}
	if invalid {
		return ExitInvalid, VerdictInvalid
	}
	for _, s := range slos {
		if !s.Pass {
			return ExitSLOBreached, VerdictFail
		}
	}
	return ExitPass, VerdictPass
}

// sent reports whether a journal entry left the generator.
func sent(e replay.JournalEntry) bool {
	switch e.Outcome {
	case replay.OutcomeAccepted, replay.OutcomeRejected, replay.OutcomeUnknown, replay.OutcomePublished:
		return true
	}
	return false
}

// loadStats derives the load section from the journal. Schedule lag is how
// late each request left compared with its plan (SentUS − IntendedUS).
func loadStats(journal iter.Seq[replay.JournalEntry], wall time.Duration) Load {
	var l Load
	lag := newHistogram()
	for e := range journal {
		l.Planned++
		if e.Outcome == replay.OutcomeDropped {
			l.Dropped++
		}
		if !sent(e) {
			continue
		}
		l.Sent++
		record(lag, e.SentUS-e.IntendedUS)
		if e.Kind == replay.KindBet {
			l.Bets.Sent++
			switch e.Outcome {
			case replay.OutcomeAccepted:
				l.Bets.Accepted++
			case replay.OutcomeRejected:
				l.Bets.Rejected++
			case replay.OutcomeUnknown:
				l.Bets.Unknown++
			}
		}
	}
	if wall > 0 {
		l.RatePerS = float64(l.Sent) / wall.Seconds()
	}
	if lag.TotalCount() > 0 {
		l.ScheduleLagP99MS = msOf(lag.ValueAtQuantile(99))
	}
	return l
}

// entries is the journal of in as a sequence that can be ranged over more
// than once: JournalFrom's, read again each time, or Journal's. The first
// error reading JournalFrom, if any, ends that pass and is kept in *errp
// (nil: ignored).
func (in Input) entries(errp *error) iter.Seq[replay.JournalEntry] {
	if in.JournalFrom == nil {
		return slices.Values(in.Journal)
	}
	return func(yield func(replay.JournalEntry) bool) {
		for e, err := range in.JournalFrom() {
			if err != nil {
				if errp != nil && *errp == nil {
					*errp = err
				}
				return
			}
			if !yield(e) {
				return
			}
		}
	}
}
