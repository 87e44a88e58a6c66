package reports

import (
	"bytes"
	"encoding/json"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// Invariant names, as report.json shows them. The numbers in comments are
// those of DESIGN.md, "Invariants the reconciliation checks".
const (
	InvMoneyConserved      = "money_conserved"                 // 1
	InvDoubleEntry         = "double_entry"                    // 2
	InvBalancesMatch       = "balances_match_postings"         // 2, per account
	InvNoNegativeBalance   = "no_negative_balance"             // 3
	InvBetAtMostOnce       = "bet_at_most_once"                // 4
	InvAcknowledgedBooked  = "acknowledged_bets_booked_once"   // 5
	InvRejectedNoPostings  = "rejected_bets_have_no_postings"  // 5
	InvUnknownResolved     = "unknown_outcomes_resolved"       // 6
	InvNoPhantomEntries    = "no_phantom_entries"              // 4 and 5, from the ledger's side
	InvPayoutsExact        = "payouts_exact"                   // 8
	InvStakeSettledOnce    = "stake_settled_once"              // 7
	InvSuspenseMatches     = "suspense_matches_open_stakes"    // 1 and 7, for the suspense side of every bet
	InvSettlementDrained   = "settlement_drained"              // 13
	InvPostingsAppendOnly  = "postings_append_only"            // 9
	InvNoBetWhileSuspended = "no_bet_accepted_while_suspended" // 10
	InvHotStateMatches     = "hot_state_matches_ledger"        // 11
	InvEventStoreFolds     = "event_store_folds_to_ledger"     // 12
)

// Invariant statuses, as report.json's invariants[].status shows them.
const (
	StatusPass = "pass"
	StatusFail = "fail"
	// StatusNotChecked: the invariant is named but could not be checked
	// (what it needs is not there: an event store, a hot state). It is
	// never a pass, and never fails a verdict either.
	StatusNotChecked = "not_checked"
)

// MaxWitnesses is how many witnesses an Invariant keeps; Violations still
// counts every violation.
const MaxWitnesses = 10

// Invariant is the outcome of one reconciliation check: a report.json
// invariants[] entry. Checked counts what the check looked at, so that
// "0 violations out of 0 checked" is visible as such.
//
// Status is pass, fail or not_checked. Pass is kept for readers of
// earlier reports: it is true only for pass, so a not-checked invariant
// never reads as passing.
type Invariant struct {
	Name       string    `json:"name"`
	Checked    int       `json:"checked"`
	Violations int       `json:"violations"`
	Pass       bool      `json:"pass"`
	Status     string    `json:"status"`
	Witnesses  []Witness `json:"witnesses"`
	Note       string    `json:"note,omitempty"` // counts worth knowing even when it passes; why it was not checked
}

// Failed reports whether the invariant was checked and violated: what
// fails a verdict. An Invariant without a Status (one built by hand, or read
// from a report older than the field) fails when it does not pass.
func (inv Invariant) Failed() bool {
	if inv.Status == "" {
		return !inv.Pass
	}
	return inv.Status == StatusFail
}

// MarshalJSON writes Status as Pass implies when it was left empty, so
// that every invariants[] entry has one.
func (inv Invariant) MarshalJSON() ([]byte, error) {
	type plain Invariant
	if inv.Status == "" {
		inv.Status = StatusFail
		if inv.Pass {
			inv.Status = StatusPass
		}
	}
	// Unescaped: the encoder that calls this escapes HTML if it is set to.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(plain(inv)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Witness is a minimal proof of one violation: the ids involved and why
// they contradict each other. Bet, deposit, withdrawal, account and market
// ids appear as they are; ledger row numbers are prefixed with their table,
// as "tx:17" and "posting:42", so that a number is never ambiguous.
type Witness struct {
	IDs []string `json:"ids"`
	Why string   `json:"why"`
}

// ReconcileOptions tune Reconcile.
type ReconcileOptions struct {
	// DrainTimedOut says the runner stopped waiting for settlement before
	// every resulted market was settled; settlement_drained says so.
	DrainTimedOut bool
	// InPlayDelay is the platform's in-play delay (wall time), which every
	// bet waits out before its market is checked again. Zero is the
	// conservative choice when it is not known: no_bet_accepted_while_suspended
	// then assumes the check happened as early as it could.
	InPlayDelay time.Duration
	// FeedGrace bounds how long the platform may take to apply a feed
	// message after the harness published it; 0 means DefaultFeedGrace.
	FeedGrace time.Duration
	// Faults are the run's faults: a bet whose market timeline overlaps
	// one is not judged by no_bet_accepted_while_suspended, since a fault
	// can hold feed messages back longer than FeedGrace.
	Faults []Fault
	// HotState is the platform's hot state read once traffic stopped; nil
	// when the run has none to read (a ledger export), which leaves
	// hot_state_matches_ledger not checked.
	HotState *HotState
	// EventStore is the platform's event store, checked by CheckEventStore;
	// nil when the run has none to read (a ledger export, a platform that
	// keeps none), which leaves postings_append_only and
	// event_store_folds_to_ledger not checked.
	EventStore *EventStoreCheck
}

// DefaultFeedGrace is ReconcileOptions.FeedGrace when it is not set.
const DefaultFeedGrace = 2 * time.Second

// txRef names a transaction in a witness.
func txRef(id int64) string { return "tx:" + strconv.FormatInt(id, 10) }

// postingRef names a posting in a witness.
func postingRef(id int64) string { return "posting:" + strconv.FormatInt(id, 10) }

// check accumulates one Invariant.
type check struct {
	inv        Invariant
	notChecked bool
}

func newCheck(name string) *check {
	return &check{inv: Invariant{Name: name, Witnesses: []Witness{}}}
}

// looked counts n more things looked at.
func (c *check) looked(n int) { c.inv.Checked += n }

// violated records one violation, keeping its witness while there is room.
func (c *check) violated(why string, ids ...string) {
	c.inv.Violations++
	if len(c.inv.Witnesses) < MaxWitnesses {
		c.inv.Witnesses = append(c.inv.Witnesses, Witness{IDs: ids, Why: why})
	}
}

// skip marks the invariant not checked, saying why.
func (c *check) skip(why string) {
	c.notChecked = true
	c.inv.Note = why
}

// done finishes the invariant.
func (c *check) done() Invariant {
	switch {
	case c.notChecked:
		c.inv.Status = StatusNotChecked
	case c.inv.Violations == 0:
		c.inv.Status = StatusPass
	default:
		c.inv.Status = StatusFail
	}
	c.inv.Pass = c.inv.Status == StatusPass
	return c.inv
}

// invariants is every invariant reconciliation reports, in report order:
// a new invariant is one row here and one function in the file of its
// family (reconcile_money.go, _bets.go, _settlement.go, _state.go,
// _store.go). The
// order of the first rows is the order report.json has always had.
var invariants = []struct {
	name  string
	check func(*books, *check)
}{
	{InvMoneyConserved, (*books).moneyConserved},
	{InvDoubleEntry, (*books).doubleEntry},
	{InvBalancesMatch, (*books).balancesMatchPostings},
	{InvNoNegativeBalance, (*books).noNegativeBalance},
	{InvBetAtMostOnce, (*books).betAtMostOnce},
	{InvAcknowledgedBooked, (*books).acknowledgedBooked},
	{InvRejectedNoPostings, (*books).rejectedNoPostings},
	{InvUnknownResolved, (*books).unknownResolved},
	{InvNoPhantomEntries, (*books).noPhantomEntries},
	{InvPayoutsExact, (*books).payoutsExact},
	{InvStakeSettledOnce, (*books).stakeSettledOnce},
	{InvSuspenseMatches, (*books).suspenseMatchesOpenStakes},
	{InvSettlementDrained, (*books).settlementDrained},
	{InvPostingsAppendOnly, (*books).postingsAppendOnly},
	{InvNoBetWhileSuspended, (*books).noBetWhileSuspended},
	{InvHotStateMatches, (*books).hotStateMatches},
	{InvEventStoreFolds, (*books).eventStoreFolds},
}

// InvariantNames lists every invariant Reconcile reports, in its order.
func InvariantNames() []string {
	out := make([]string, len(invariants))
	for i, row := range invariants {
		out[i] = row.name
	}
	return out
}

// Reconcile checks the journal against the ledger and returns every
// invariant, in a fixed order, each with its count of checked items, its
// violations and at most MaxWitnesses witnesses. The invariants are those
// of DESIGN.md; how each is computed is documented on its function
// and in docs/ledger.md.
func Reconcile(journal []replay.JournalEntry, l *Ledger, opts ReconcileOptions) []Invariant {
	return ReconcileEntries(slices.Values(journal), l, opts)
}

// ReconcileEntries is Reconcile over a journal read as it streams (in Seq
// order, as ReadJournal gives it): it is read once, into an index of the
// bettor requests by id that the checks need, never held whole.
func ReconcileEntries(journal iter.Seq[replay.JournalEntry], l *Ledger, opts ReconcileOptions) []Invariant {
	if l == nil {
		l = &Ledger{}
	}
	b := index(journal, l, opts)
	out := make([]Invariant, 0, len(invariants))
	for _, row := range invariants {
		c := newCheck(row.name)
		row.check(b, c)
		out = append(out, c.done())
	}
	return out
}

// txIDs names transactions for a witness.
func txIDs(txs []Transaction) []string {
	out := make([]string, 0, len(txs))
	for _, t := range txs {
		out = append(out, txRef(t.ID))
	}
	return out
}

// describeTxs renders transactions as "settle tx:3, void tx:4".
func describeTxs(txs []Transaction) string {
	parts := make([]string, 0, len(txs))
	for _, t := range txs {
		parts = append(parts, t.Kind+" "+txRef(t.ID))
	}
	return strings.Join(parts, ", ")
}

// capIDs keeps a witness minimal and bounded.
func capIDs(ids []string) []string {
	if len(ids) > MaxWitnesses {
		return ids[:MaxWitnesses]
	}
	return ids
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}
