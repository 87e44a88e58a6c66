package reports

import (
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/inplaylabs/inplay/replay"
)

// Invariant names, as report.json shows them. The numbers in comments are
// those of DESIGN.md, "Invariants the reconciliation checks".
const (
	InvMoneyConserved     = "money_conserved"                // 1
	InvDoubleEntry        = "double_entry"                   // 2
	InvBalancesMatch      = "balances_match_postings"        // 2, per account
	InvNoNegativeBalance  = "no_negative_balance"            // 3
	InvBetAtMostOnce      = "bet_at_most_once"               // 4
	InvAcknowledgedBooked = "acknowledged_bets_booked_once"  // 5
	InvRejectedNoPostings = "rejected_bets_have_no_postings" // 5
	InvUnknownResolved    = "unknown_outcomes_resolved"      // 6
	InvNoPhantomEntries   = "no_phantom_entries"             // 4 and 5, from the ledger's side
	InvPayoutsExact       = "payouts_exact"                  // 8
	InvStakeSettledOnce   = "stake_settled_once"             // 7
	InvSuspenseMatches    = "suspense_matches_open_stakes"   // 1 and 7, for the suspense side of every bet
	InvSettlementDrained  = "settlement_drained"             // 13
)

// MaxWitnesses is how many witnesses an Invariant keeps; Violations still
// counts every violation.
const MaxWitnesses = 10

// Invariant is the outcome of one reconciliation check: a report.json
// invariants[] entry. Checked counts what the check looked at, so that
// "0 violations out of 0 checked" is visible as such.
type Invariant struct {
	Name       string    `json:"name"`
	Checked    int       `json:"checked"`
	Violations int       `json:"violations"`
	Pass       bool      `json:"pass"`
	Witnesses  []Witness `json:"witnesses"`
	Note       string    `json:"note,omitempty"` // counts worth knowing even when it passes
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
}

// txRef names a transaction in a witness.
func txRef(id int64) string { return "tx:" + strconv.FormatInt(id, 10) }

// postingRef names a posting in a witness.
func postingRef(id int64) string { return "posting:" + strconv.FormatInt(id, 10) }

// check accumulates one Invariant.
type check struct{ inv Invariant }

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

// done finishes the invariant.
func (c *check) done() Invariant {
	c.inv.Pass = c.inv.Violations == 0
	return c.inv
}

// Reconcile checks the journal against the ledger and returns every
// invariant, in a fixed order, each with its count of checked items, its
// violations and at most MaxWitnesses witnesses. The invariants are those
// of DESIGN.md; how each is computed is documented on its function below
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
	b := index(journal, l)
	return []Invariant{
		b.moneyConserved(),
		b.doubleEntry(),
		b.balancesMatchPostings(),
		b.noNegativeBalance(),
		b.betAtMostOnce(),
		b.acknowledgedBooked(),
		b.rejectedNoPostings(),
		b.unknownResolved(),
		b.noPhantomEntries(),
		b.payoutsExact(),
		b.stakeSettledOnce(),
		b.suspenseMatchesOpenStakes(),
		b.settlementDrained(opts),
	}
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
