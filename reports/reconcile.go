package reports

import (
	"cmp"
	"fmt"
	"iter"
	"math/big"
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

// bettorKinds are the journal kinds that are bettor requests keyed by id.
var bettorKinds = []replay.Kind{replay.KindBet, replay.KindDeposit, replay.KindWithdraw, replay.KindCashout}

// books indexes a journal and a ledger once for every check.
type books struct {
	l *Ledger

	accounts    map[string]Account
	posted      map[string]int64 // account → Σ its postings
	txs         map[int64]Transaction
	postingsOf  map[int64][]Posting                 // tx id → postings
	txByRef     map[string]map[string][]Transaction // kind → ref → transactions
	bets        map[string][]Bet
	markets     map[string]Market
	imbalance   map[int64]int64 // tx id → Σ its postings (0 when balanced)
	unbalanced  []int64         // tx ids whose postings do not sum to 0, in ledger order
	sentReq     map[replay.Kind]map[string][]replay.JournalEntry
	droppedReq  map[replay.Kind]map[string]bool
	order       map[replay.Kind][]string       // ids in order of first sent request
	firstResult map[string]replay.JournalEntry // market → the first result the feed published
}

func index(journal iter.Seq[replay.JournalEntry], l *Ledger) *books {
	b := &books{
		l:           l,
		accounts:    map[string]Account{},
		posted:      map[string]int64{},
		txs:         map[int64]Transaction{},
		postingsOf:  map[int64][]Posting{},
		txByRef:     map[string]map[string][]Transaction{},
		bets:        map[string][]Bet{},
		markets:     map[string]Market{},
		imbalance:   map[int64]int64{},
		sentReq:     map[replay.Kind]map[string][]replay.JournalEntry{},
		droppedReq:  map[replay.Kind]map[string]bool{},
		order:       map[replay.Kind][]string{},
		firstResult: map[string]replay.JournalEntry{},
	}
	for _, a := range l.Accounts {
		if _, dup := b.accounts[a.ID]; !dup {
			b.accounts[a.ID] = a
		}
	}
	for _, t := range l.Transactions {
		if _, dup := b.txs[t.ID]; dup {
			continue
		}
		b.txs[t.ID] = t
		if b.txByRef[t.Kind] == nil {
			b.txByRef[t.Kind] = map[string][]Transaction{}
		}
		b.txByRef[t.Kind][t.Ref] = append(b.txByRef[t.Kind][t.Ref], t)
	}
	for _, p := range l.Postings {
		b.posted[p.Account] += p.Amount
		b.postingsOf[p.TxID] = append(b.postingsOf[p.TxID], p)
		b.imbalance[p.TxID] += p.Amount
	}
	for _, t := range l.Transactions {
		if b.imbalance[t.ID] != 0 && !slices.Contains(b.unbalanced, t.ID) {
			b.unbalanced = append(b.unbalanced, t.ID)
		}
	}
	for _, bet := range l.Bets {
		b.bets[bet.ID] = append(b.bets[bet.ID], bet)
	}
	for _, m := range l.Markets {
		if _, dup := b.markets[m.ID]; !dup {
			b.markets[m.ID] = m
		}
	}
	for _, k := range bettorKinds {
		b.sentReq[k] = map[string][]replay.JournalEntry{}
		b.droppedReq[k] = map[string]bool{}
	}
	for e := range journal {
		switch {
		case e.Kind == replay.KindResult:
			if e.Outcome == replay.OutcomeDropped {
				continue
			}
			if _, ok := b.firstResult[e.Market]; !ok {
				b.firstResult[e.Market] = e
			}
		case b.sentReq[e.Kind] != nil:
			switch e.Outcome {
			case replay.OutcomeAccepted, replay.OutcomeRejected, replay.OutcomeUnknown:
				if len(b.sentReq[e.Kind][e.ID]) == 0 {
					b.order[e.Kind] = append(b.order[e.Kind], e.ID)
				}
				b.sentReq[e.Kind][e.ID] = append(b.sentReq[e.Kind][e.ID], e)
			case replay.OutcomeDropped:
				b.droppedReq[e.Kind][e.ID] = true
			}
		}
	}
	return b
}

// refs returns the transactions of the given kinds whose ref is ref.
func (b *books) refs(ref string, kinds ...string) []Transaction {
	var out []Transaction
	for _, k := range kinds {
		out = append(out, b.txByRef[k][ref]...)
	}
	slices.SortFunc(out, func(x, y Transaction) int { return cmp.Compare(x.ID, y.ID) })
	return out
}

// credit is what transaction txID moves into account (negative: out of it).
func (b *books) credit(txID int64, account string) int64 {
	var sum int64
	for _, p := range b.postingsOf[txID] {
		if p.Account == account {
			sum += p.Amount
		}
	}
	return sum
}

// hasOutcome reports whether some sent request of kind k with id has outcome o.
func (b *books) hasOutcome(k replay.Kind, id string, o replay.Outcome) bool {
	return slices.ContainsFunc(b.sentReq[k][id], func(e replay.JournalEntry) bool { return e.Outcome == o })
}

// result is a market's result: the platform's own (its markets row), or
// else the first one the feed published (a market is settled once, on its
// first result). ok is false when neither exists.
func (b *books) result(market string) (winners []string, ok bool) {
	if m, found := b.markets[market]; found && m.Resulted {
		return m.Winners, true
	}
	if e, found := b.firstResult[market]; found {
		return e.Winners, true
	}
	return nil, false
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

// moneyConserved: the money inside the platform (players + house +
// suspense) equals deposits minus withdrawals as booked into player
// accounts, and equals the negative of the cash account (the outside world).
func (b *books) moneyConserved() Invariant {
	c := newCheck(InvMoneyConserved)
	var inside, cash, net int64
	for _, a := range b.l.Accounts {
		switch a.Kind {
		case AccountPlayer, AccountHouse, AccountSuspense:
			inside += a.Balance
		case AccountCash:
			cash += a.Balance
		}
	}
	for _, p := range b.l.Postings {
		t, ok := b.txs[p.TxID]
		if ok && (t.Kind == TxDeposit || t.Kind == TxWithdraw) && b.accounts[p.Account].Kind == AccountPlayer {
			net += p.Amount
		}
	}
	c.looked(2)
	if inside != net {
		c.violated(fmt.Sprintf("players, house and suspense hold %d, but deposits minus withdrawals booked into players are %d (difference %d)",
			inside, net, inside-net), b.moneySuspects()...)
	}
	if inside != -cash {
		c.violated(fmt.Sprintf("players, house and suspense hold %d, but the cash account is %d (it should be %d)",
			inside, cash, -inside), b.moneySuspects()...)
	}
	return c.done()
}

// moneySuspects names what can make money appear or vanish: transactions
// that touch cash without being a deposit or withdrawal, unbalanced
// transactions, and accounts whose stored balance disagrees with their
// postings. It falls back to the cash account.
func (b *books) moneySuspects() []string {
	var ids []string
	add := func(id string) {
		if len(ids) < MaxWitnesses && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, p := range b.l.Postings {
		t, ok := b.txs[p.TxID]
		if ok && b.accounts[p.Account].Kind == AccountCash && t.Kind != TxDeposit && t.Kind != TxWithdraw {
			add(txRef(t.ID))
		}
	}
	for _, t := range b.l.Transactions {
		if t.Kind != TxDeposit && t.Kind != TxWithdraw {
			continue
		}
		var player, cash int64
		for _, p := range b.postingsOf[t.ID] {
			switch b.accounts[p.Account].Kind {
			case AccountPlayer:
				player += p.Amount
			case AccountCash:
				cash += p.Amount
			}
		}
		if player != -cash {
			add(txRef(t.ID))
		}
	}
	for _, id := range b.unbalanced {
		add(txRef(id))
	}
	for _, a := range b.l.Accounts {
		if a.Balance != b.posted[a.ID] {
			add(a.ID)
		}
	}
	if len(ids) == 0 {
		ids = append(ids, AccountCash)
	}
	return ids
}

// doubleEntry: every transaction has at least two postings summing to 0,
// every posting belongs to a transaction, and all postings sum to 0.
func (b *books) doubleEntry() Invariant {
	c := newCheck(InvDoubleEntry)
	var total int64
	for _, t := range b.l.Transactions {
		c.looked(1)
		ps := b.postingsOf[t.ID]
		var problems []string
		if len(ps) < 2 {
			problems = append(problems, fmt.Sprintf("has %d posting(s); double entry needs at least 2", len(ps)))
		}
		if sum := b.imbalance[t.ID]; sum != 0 {
			problems = append(problems, fmt.Sprintf("its postings sum to %d, not 0", sum))
		}
		if len(problems) > 0 {
			c.violated(fmt.Sprintf("%s %s %s", t.Kind, txRef(t.ID), strings.Join(problems, " and ")), txRef(t.ID), t.Ref)
		}
	}
	for _, p := range b.l.Postings {
		total += p.Amount
		if _, ok := b.txs[p.TxID]; !ok {
			c.looked(1)
			c.violated(fmt.Sprintf("%s belongs to %s, which does not exist", postingRef(p.ID), txRef(p.TxID)),
				postingRef(p.ID), txRef(p.TxID))
		}
	}
	c.looked(1)
	if total != 0 {
		ids := make([]string, 0, len(b.unbalanced))
		for _, id := range b.unbalanced {
			ids = append(ids, txRef(id))
		}
		c.violated(fmt.Sprintf("all postings together sum to %d, not 0", total), capIDs(ids)...)
	}
	return c.done()
}

// balancesMatchPostings: each account's stored balance equals the sum of
// its postings, and every posting names a known account. A witness names
// the account and any unbalanced transaction whose imbalance exactly
// accounts for the difference: the likely place a posting went missing.
func (b *books) balancesMatchPostings() Invariant {
	c := newCheck(InvBalancesMatch)
	for _, a := range b.l.Accounts {
		c.looked(1)
		diff := a.Balance - b.posted[a.ID]
		if diff == 0 {
			continue
		}
		ids := []string{a.ID}
		for _, id := range b.unbalanced {
			if diff+b.imbalance[id] == 0 {
				ids = append(ids, txRef(id))
			}
		}
		c.violated(fmt.Sprintf("account %s stores balance %d but its postings sum to %d (difference %d)",
			a.ID, a.Balance, b.posted[a.ID], diff), capIDs(ids)...)
	}
	for _, p := range b.l.Postings {
		if _, ok := b.accounts[p.Account]; !ok {
			c.looked(1)
			c.violated(fmt.Sprintf("%s moves %d into account %s, which does not exist", postingRef(p.ID), p.Amount, p.Account),
				postingRef(p.ID), p.Account)
		}
	}
	return c.done()
}

// noNegativeBalance: no account that may not go negative is below zero,
// by its stored balance or by its postings.
func (b *books) noNegativeBalance() Invariant {
	c := newCheck(InvNoNegativeBalance)
	for _, a := range b.l.Accounts {
		if a.AllowNegative {
			continue
		}
		c.looked(1)
		switch {
		case a.Balance < 0:
			c.violated(fmt.Sprintf("%s account %s has balance %d but may not go negative", a.Kind, a.ID, a.Balance), a.ID)
		case b.posted[a.ID] < 0:
			c.violated(fmt.Sprintf("%s account %s's postings sum to %d but it may not go negative", a.Kind, a.ID, b.posted[a.ID]), a.ID)
		}
	}
	return c.done()
}

// betAtMostOnce: a bet id takes effect at most once. It has at most one
// ledger row and one stake transaction, and the platform never accepted
// two requests with the same id but different content (the second must be
// refused with ECONFLICT).
func (b *books) betAtMostOnce() Invariant {
	c := newCheck(InvBetAtMostOnce)
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, bet := range b.l.Bets {
		add(bet.ID)
	}
	for _, id := range b.order[replay.KindBet] {
		add(id)
	}
	for _, t := range b.l.Transactions {
		if t.Kind == TxStake {
			add(t.Ref)
		}
	}
	for _, id := range ids {
		c.looked(1)
		var problems []string
		witness := []string{id}
		if n := len(b.bets[id]); n > 1 {
			problems = append(problems, fmt.Sprintf("has %d ledger rows", n))
		}
		if stakes := b.refs(id, TxStake); len(stakes) > 1 {
			problems = append(problems, fmt.Sprintf("has %d stake transactions", len(stakes)))
			for _, t := range stakes {
				witness = append(witness, txRef(t.ID))
			}
		}
		var accepted []string
		for _, e := range b.sentReq[replay.KindBet][id] {
			if k := betContent(e); e.Outcome == replay.OutcomeAccepted && !slices.Contains(accepted, k) {
				accepted = append(accepted, k)
			}
		}
		if len(accepted) > 1 {
			problems = append(problems, fmt.Sprintf("was accepted with %d different contents (%s); a reused id with new content must be refused",
				len(accepted), strings.Join(accepted, " vs ")))
		}
		if len(problems) > 0 {
			c.violated("bet "+id+" "+strings.Join(problems, "; "), capIDs(witness)...)
		}
	}
	return c.done()
}

// betContent renders what a bet request asked for, to compare requests.
// Odds compare by value: "2" and "2.00" are the same request.
func betContent(e replay.JournalEntry) string {
	odds := e.Odds
	if e4, err := replay.ParseOdds(e.Odds); err == nil {
		odds = strconv.FormatInt(e4, 10) + "e-4"
	}
	policy := e.Policy
	if policy == "" {
		policy = "default"
	}
	return fmt.Sprintf("account %s market %s selection %s stake %d odds %s policy %s", e.Account, e.Market, e.Selection, e.Stake, odds, policy)
}

// betMismatch says how a booked bet differs from what request e asked for,
// or "" when it is what was asked: same account, market, selection and
// stake, at odds the request's price policy allows: exactly the requested
// ones (exact), at least them (better, and a request that named no policy:
// the platform's default, docs/api.md), or any (any).
func betMismatch(bet Bet, e replay.JournalEntry) string {
	var diffs []string
	if bet.Account != e.Account {
		diffs = append(diffs, fmt.Sprintf("account %s, requested %s", bet.Account, e.Account))
	}
	if bet.Market != e.Market {
		diffs = append(diffs, fmt.Sprintf("market %s, requested %s", bet.Market, e.Market))
	}
	if bet.Selection != e.Selection {
		diffs = append(diffs, fmt.Sprintf("selection %s, requested %s", bet.Selection, e.Selection))
	}
	if bet.Stake != e.Stake {
		diffs = append(diffs, fmt.Sprintf("stake %d, requested %d", bet.Stake, e.Stake))
	}
	if want, err := replay.ParseOdds(e.Odds); err != nil {
		diffs = append(diffs, fmt.Sprintf("booked although the requested odds %q are invalid", e.Odds))
	} else {
		switch e.Policy {
		case replay.PolicyExact:
			if bet.OddsE4 != want {
				diffs = append(diffs, fmt.Sprintf("odds_e4 %d, not the requested %s (policy exact)", bet.OddsE4, e.Odds))
			}
		case replay.PolicyAny:
		default:
			if bet.OddsE4 < want {
				diffs = append(diffs, fmt.Sprintf("odds_e4 %d, below the requested %s", bet.OddsE4, e.Odds))
			}
		}
	}
	return strings.Join(diffs, ", ")
}

// bookedAsAsked checks a booked bet against the non-rejected requests of
// its id: it must match at least one of them. It returns "" on a match, or
// the differences from the first.
func bookedAsAsked(bet Bet, reqs []replay.JournalEntry) string {
	first := ""
	for _, e := range reqs {
		if e.Outcome == replay.OutcomeRejected {
			continue
		}
		why := betMismatch(bet, e)
		if why == "" {
			return ""
		}
		if first == "" {
			first = why
		}
	}
	return first
}

// moneyMismatch checks a booked deposit or withdrawal transaction against
// the non-rejected requests of its id: the request's account must be
// credited exactly its amount (a withdrawal: debited). It returns "" on a
// match.
func (b *books) moneyMismatch(t Transaction, reqs []replay.JournalEntry) string {
	first := ""
	for _, e := range reqs {
		if e.Outcome == replay.OutcomeRejected {
			continue
		}
		want := e.Amount
		if t.Kind == TxWithdraw {
			want = -e.Amount
		}
		got := b.credit(t.ID, e.Account)
		if got == want {
			return ""
		}
		if first == "" {
			first = fmt.Sprintf("%s moves %d into account %s, but the request was for %d", txRef(t.ID), got, e.Account, want)
		}
	}
	return first
}

// acknowledgedBooked: every acknowledged (accepted) request took effect
// exactly once and as asked. A bet has one ledger row matching the request
// and one stake transaction taking its stake from its account; a deposit or
// withdrawal has one transaction moving its amount; a cash-out left its bet
// cashed out by one cash-out transaction.
func (b *books) acknowledgedBooked() Invariant {
	c := newCheck(InvAcknowledgedBooked)
	for _, id := range b.order[replay.KindBet] {
		if !b.hasOutcome(replay.KindBet, id, replay.OutcomeAccepted) {
			continue
		}
		c.looked(1)
		var problems []string
		witness := []string{id}
		rows := b.bets[id]
		stakes := b.refs(id, TxStake)
		for _, t := range stakes {
			witness = append(witness, txRef(t.ID))
		}
		switch len(rows) {
		case 0:
			problems = append(problems, "was acknowledged but is not in the ledger")
		case 1:
			if why := bookedAsAsked(rows[0], b.sentReq[replay.KindBet][id]); why != "" {
				problems = append(problems, "was booked with "+why)
			}
		default:
			problems = append(problems, fmt.Sprintf("is in the ledger %d times", len(rows)))
		}
		if len(stakes) != 1 {
			problems = append(problems, fmt.Sprintf("has %d stake transactions, not 1", len(stakes)))
		} else if len(rows) > 0 {
			if got := b.credit(stakes[0].ID, rows[0].Account); got != -rows[0].Stake {
				problems = append(problems, fmt.Sprintf("its stake %s moves %d on account %s, not -%d",
					txRef(stakes[0].ID), got, rows[0].Account, rows[0].Stake))
			}
		}
		if len(problems) > 0 {
			c.violated("bet "+id+" "+strings.Join(problems, "; "), capIDs(witness)...)
		}
	}
	for _, k := range []replay.Kind{replay.KindDeposit, replay.KindWithdraw} {
		for _, id := range b.order[k] {
			if !b.hasOutcome(k, id, replay.OutcomeAccepted) {
				continue
			}
			c.looked(1)
			txs := b.refs(id, string(k))
			witness := []string{id}
			for _, t := range txs {
				witness = append(witness, txRef(t.ID))
			}
			switch {
			case len(txs) != 1:
				c.violated(fmt.Sprintf("%s %s was acknowledged but has %d transactions, not 1", k, id, len(txs)), capIDs(witness)...)
			default:
				if why := b.moneyMismatch(txs[0], b.acceptedOnly(k, id)); why != "" {
					c.violated(fmt.Sprintf("%s %s: %s", k, id, why), capIDs(witness)...)
				}
			}
		}
	}
	for _, id := range b.order[replay.KindCashout] {
		for _, e := range b.sentReq[replay.KindCashout][id] {
			if e.Outcome != replay.OutcomeAccepted {
				continue
			}
			c.looked(1)
			txs := b.refs(e.Bet, TxCashout)
			witness := []string{id, e.Bet}
			for _, t := range txs {
				witness = append(witness, txRef(t.ID))
			}
			var problems []string
			if rows := b.bets[e.Bet]; len(rows) != 1 || rows[0].Status != BetCashedOut {
				problems = append(problems, fmt.Sprintf("bet %s is not cashed out in the ledger", e.Bet))
			}
			if len(txs) != 1 {
				problems = append(problems, fmt.Sprintf("bet %s has %d cash-out transactions, not 1", e.Bet, len(txs)))
			}
			if len(problems) > 0 {
				c.violated("cash-out "+id+" was acknowledged but "+strings.Join(problems, "; "), capIDs(witness)...)
			}
			break // one acknowledgement of an id is enough to require the effect
		}
	}
	return c.done()
}

// acceptedOnly returns the accepted requests of kind k with id.
func (b *books) acceptedOnly(k replay.Kind, id string) []replay.JournalEntry {
	var out []replay.JournalEntry
	for _, e := range b.sentReq[k][id] {
		if e.Outcome == replay.OutcomeAccepted {
			out = append(out, e)
		}
	}
	return out
}

// betTxKinds are the transaction kinds whose ref is a bet id.
var betTxKinds = []string{TxStake, TxSettle, TxVoid, TxCashout}

// rejectedNoPostings: a rejected request took no effect. A rejected bet
// has no ledger row and no transaction; a rejected deposit or withdrawal
// has no transaction. An id that was also accepted, or left unknown, by
// another request (a retry, or the same id reused) may legitimately be
// present; its content is checked by the invariants for those outcomes.
func (b *books) rejectedNoPostings() Invariant {
	c := newCheck(InvRejectedNoPostings)
	rejected, retried := 0, 0
	for _, k := range []replay.Kind{replay.KindBet, replay.KindDeposit, replay.KindWithdraw} {
		for _, id := range b.order[k] {
			var rej *replay.JournalEntry
			for _, e := range b.sentReq[k][id] {
				if e.Outcome == replay.OutcomeRejected {
					rej = &e
					break
				}
			}
			if rej == nil {
				continue
			}
			c.looked(1)
			rejected++
			if b.hasOutcome(k, id, replay.OutcomeAccepted) || b.hasOutcome(k, id, replay.OutcomeUnknown) {
				retried++
				continue
			}
			var txs []Transaction
			rows := 0
			if k == replay.KindBet {
				txs = b.refs(id, betTxKinds...)
				rows = len(b.bets[id])
			} else {
				txs = b.refs(id, string(k))
			}
			if rows == 0 && len(txs) == 0 {
				continue
			}
			witness := []string{id}
			for _, t := range txs {
				witness = append(witness, txRef(t.ID))
			}
			code := rej.Code
			if code == "" {
				code = fmt.Sprintf("HTTP %d", rej.HTTPStatus)
			}
			c.violated(fmt.Sprintf("%s %s was rejected (%s) but has %d ledger row(s) and %d transaction(s)",
				k, id, code, rows, len(txs)), capIDs(witness)...)
		}
	}
	c.inv.Note = fmt.Sprintf("%d rejected ids; %d of them were also accepted or unknown under the same id", rejected, retried)
	return c.done()
}

// unknownResolved: every request with an unknown outcome resolved to
// exactly one of present once (as asked) or absent. The note counts how
// many went each way.
func (b *books) unknownResolved() Invariant {
	c := newCheck(InvUnknownResolved)
	present, absent := 0, 0
	for _, k := range bettorKinds {
		for _, id := range b.order[k] {
			if !b.hasOutcome(k, id, replay.OutcomeUnknown) {
				continue
			}
			c.looked(1)
			reqs := b.sentReq[k][id]
			var why string
			var witness []string
			switch k {
			case replay.KindBet:
				rows, txs := b.bets[id], b.refs(id, TxStake)
				witness = append([]string{id}, txIDs(txs)...)
				switch {
				case len(rows) == 0 && len(txs) == 0:
					absent++
				case len(rows) == 0:
					why = fmt.Sprintf("has %d stake transaction(s) but no ledger row", len(txs))
				case len(rows) > 1:
					why = fmt.Sprintf("is present %d times", len(rows))
				case len(txs) != 1:
					why = fmt.Sprintf("is present with %d stake transactions, not 1", len(txs))
				default:
					if d := bookedAsAsked(rows[0], reqs); d != "" {
						why = "is present but booked with " + d
					} else {
						present++
					}
				}
			case replay.KindCashout:
				bet := reqs[0].Bet
				txs := b.refs(bet, TxCashout)
				witness = append([]string{id, bet}, txIDs(txs)...)
				switch len(txs) {
				case 0:
					absent++
				case 1:
					present++
				default:
					why = fmt.Sprintf("left bet %s with %d cash-out transactions", bet, len(txs))
				}
			default:
				txs := b.refs(id, string(k))
				witness = append([]string{id}, txIDs(txs)...)
				switch len(txs) {
				case 0:
					absent++
				case 1:
					if d := b.moneyMismatch(txs[0], reqs); d != "" {
						why = "is present but " + d
					} else {
						present++
					}
				default:
					why = fmt.Sprintf("is present %d times", len(txs))
				}
			}
			if why != "" {
				c.violated(fmt.Sprintf("%s %s had an unknown outcome and %s", k, id, why), capIDs(witness)...)
			}
		}
	}
	c.inv.Note = fmt.Sprintf("%d unknown outcomes: %d present once, %d absent", c.inv.Checked, present, absent)
	return c.done()
}

// noPhantomEntries: everything in the ledger was asked for. Every ledger
// bet and every deposit or withdrawal transaction has a request with its id
// that was sent (not dropped), and every stake, settle, void or cash-out
// transaction refers to a bet in the ledger. This is what catches a bet
// booked twice under a new id, or one nobody placed.
func (b *books) noPhantomEntries() Invariant {
	c := newCheck(InvNoPhantomEntries)
	why := func(k replay.Kind, id string) string {
		if b.droppedReq[k][id] {
			return "its only request was dropped, never sent"
		}
		return "no request with this id is in the journal"
	}
	for _, bet := range b.l.Bets {
		c.looked(1)
		if len(b.sentReq[replay.KindBet][bet.ID]) == 0 {
			c.violated(fmt.Sprintf("bet %s (account %s, stake %d) is in the ledger but %s", bet.ID, bet.Account, bet.Stake, why(replay.KindBet, bet.ID)), bet.ID)
		}
	}
	for _, t := range b.l.Transactions {
		c.looked(1)
		switch t.Kind {
		case TxDeposit, TxWithdraw:
			k := replay.Kind(t.Kind)
			if len(b.sentReq[k][t.Ref]) == 0 {
				c.violated(fmt.Sprintf("%s %s (%s) is in the ledger but %s", t.Kind, t.Ref, txRef(t.ID), why(k, t.Ref)), t.Ref, txRef(t.ID))
			}
		default:
			if len(b.bets[t.Ref]) == 0 {
				c.violated(fmt.Sprintf("%s %s refers to bet %s, which is not in the ledger", t.Kind, txRef(t.ID), t.Ref), t.Ref, txRef(t.ID))
			}
		}
	}
	return c.done()
}

// winPayout is floor(stake × odds_e4 / 10000): what a won bet pays, stake
// included. big.Int keeps it exact whatever the stake.
func winPayout(stake, oddsE4 int64) int64 {
	p := new(big.Int).Mul(big.NewInt(stake), big.NewInt(oddsE4))
	p.Div(p, big.NewInt(10000)) // Euclidean: floor for a non-negative product
	if !p.IsInt64() {
		return -1 // no int64 payout can equal it; the caller reports the mismatch
	}
	return p.Int64()
}

// payoutsExact: every settled bet's status follows from its market's
// result, its payout is recomputed with integer math (won: floor(stake ×
// odds_e4 / 10000), lost: 0, void: the stake), its settle or void
// transaction credits the player exactly that payout, an open bet has paid
// nothing, and a cash-out paid no more than the bet could have won. The
// platform's recorded result must also agree with the feed's.
func (b *books) payoutsExact() Invariant {
	c := newCheck(InvPayoutsExact)
	for _, bet := range b.l.Bets {
		c.looked(1)
		var problems []string
		witness := []string{bet.ID}
		switch bet.Status {
		case BetAccepted:
			if bet.Payout != 0 {
				problems = append(problems, fmt.Sprintf("is still open but records payout %d", bet.Payout))
			}
		case BetWon, BetLost, BetVoid:
			winners, ok := b.result(bet.Market)
			if !ok {
				problems = append(problems, fmt.Sprintf("is %s but market %s has no result", bet.Status, bet.Market))
				witness = append(witness, bet.Market)
			} else if want := statusFor(bet.Selection, winners); want != bet.Status {
				problems = append(problems, fmt.Sprintf("is %s but market %s's winners [%s] make it %s",
					bet.Status, bet.Market, strings.Join(winners, ","), want))
				witness = append(witness, bet.Market)
			}
			var want int64
			switch bet.Status {
			case BetWon:
				want = winPayout(bet.Stake, bet.OddsE4)
			case BetVoid:
				want = bet.Stake
			}
			if bet.Payout != want {
				problems = append(problems, fmt.Sprintf("pays %d but stake %d at odds_e4 %d %s pays %d",
					bet.Payout, bet.Stake, bet.OddsE4, bet.Status, want))
			}
			kind := TxSettle
			if bet.Status == BetVoid {
				kind = TxVoid
			}
			if txs := b.refs(bet.ID, kind); len(txs) == 1 {
				if got := b.credit(txs[0].ID, bet.Account); got != bet.Payout {
					problems = append(problems, fmt.Sprintf("its %s %s credits account %s with %d, not the payout %d",
						kind, txRef(txs[0].ID), bet.Account, got, bet.Payout))
					witness = append(witness, txRef(txs[0].ID))
				}
			}
		case BetCashedOut:
			if most := winPayout(bet.Stake, bet.OddsE4); bet.Payout < 0 || bet.Payout > most {
				problems = append(problems, fmt.Sprintf("was cashed out for %d, outside 0 to %d (the most it could win)", bet.Payout, most))
			}
			if txs := b.refs(bet.ID, TxCashout); len(txs) == 1 {
				if got := b.credit(txs[0].ID, bet.Account); got != bet.Payout {
					problems = append(problems, fmt.Sprintf("its cashout %s credits account %s with %d, not the payout %d",
						txRef(txs[0].ID), bet.Account, got, bet.Payout))
					witness = append(witness, txRef(txs[0].ID))
				}
			}
		default:
			problems = append(problems, fmt.Sprintf("has unknown status %q", bet.Status))
		}
		if len(problems) > 0 {
			c.violated("bet "+bet.ID+" "+strings.Join(problems, "; "), capIDs(witness)...)
		}
	}
	// The platform's result against the feed's, for every market with both.
	for _, m := range b.l.Markets {
		e, ok := b.firstResult[m.ID]
		if !m.Resulted || !ok {
			continue
		}
		c.looked(1)
		if !sameSet(m.Winners, e.Winners) {
			c.violated(fmt.Sprintf("market %s records winners [%s] but the feed published [%s]",
				m.ID, strings.Join(m.Winners, ","), strings.Join(e.Winners, ",")), m.ID)
		}
	}
	return c.done()
}

// statusFor is the status a bet on selection must settle to, given its
// market's winners: no winners voids the market.
func statusFor(selection string, winners []string) string {
	switch {
	case len(winners) == 0:
		return BetVoid
	case slices.Contains(winners, selection):
		return BetWon
	}
	return BetLost
}

// endKinds are the transactions that end a stake reservation.
var endKinds = []string{TxSettle, TxVoid, TxCashout}

// stakeSettledOnce: a stake reservation ends in at most one settle, void
// or cash-out transaction, exactly one once its market is resulted, of the
// kind its status says (won/lost: settle, void: void, cashed_out: cashout),
// and nothing ends a stake that was never reserved.
func (b *books) stakeSettledOnce() Invariant {
	c := newCheck(InvStakeSettledOnce)
	var refs []string
	seen := map[string]bool{}
	for _, bet := range b.l.Bets {
		if !seen[bet.ID] {
			seen[bet.ID] = true
			refs = append(refs, bet.ID)
		}
	}
	for _, t := range b.l.Transactions {
		if slices.Contains(betTxKinds, t.Kind) && !seen[t.Ref] {
			seen[t.Ref] = true
			refs = append(refs, t.Ref)
		}
	}
	for _, id := range refs {
		c.looked(1)
		stakes := b.refs(id, TxStake)
		ends := b.refs(id, endKinds...)
		witness := append([]string{id}, txIDs(ends)...)
		var problems []string
		if len(stakes) == 0 && len(ends) > 0 {
			problems = append(problems, fmt.Sprintf("is ended by %s but its stake was never reserved", txRef(ends[0].ID)))
		}
		if len(ends) > 1 {
			problems = append(problems, fmt.Sprintf("is ended %d times (%s)", len(ends), describeTxs(ends)))
		}
		if rows := b.bets[id]; len(rows) > 0 {
			bet := rows[0]
			m, known := b.markets[bet.Market]
			switch {
			case len(ends) == 0 && bet.Status != BetAccepted:
				problems = append(problems, fmt.Sprintf("is %s but no transaction ended its stake", bet.Status))
			case len(ends) == 0 && known && m.Resulted && len(stakes) > 0:
				problems = append(problems, fmt.Sprintf("is still open although market %s is resulted", bet.Market))
				witness = append(witness, bet.Market)
			case len(ends) == 1 && endKindFor(bet.Status) != ends[0].Kind:
				problems = append(problems, fmt.Sprintf("is %s but is ended by %s %s", bet.Status, ends[0].Kind, txRef(ends[0].ID)))
			}
		}
		if len(problems) > 0 {
			c.violated("stake of bet "+id+" "+strings.Join(problems, "; "), capIDs(witness)...)
		}
	}
	return c.done()
}

// suspenseMatchesOpenStakes checks the suspense side of every bet, which
// the player-side checks cannot see: a settle that takes the wrong amount
// out of suspense and balances it through house pays the player correctly
// and balances, yet leaves suspense holding money no open bet accounts for.
// It relies on the posting scheme of docs/ledger.md:
//
//   - every stake transaction moves exactly +stake into suspense and
//     exactly −stake out of the bet's account, and posts nowhere else;
//   - every settle, void or cash-out transaction of a bet moves exactly
//     −stake out of suspense;
//   - at the end, the suspense accounts hold (by their postings) exactly
//     the stakes of the bets whose status is accepted.
//
// Transactions that refer to no ledger bet have no stake to compare with;
// no_phantom_entries reports them, and the final balance still counts them.
func (b *books) suspenseMatchesOpenStakes() Invariant {
	c := newCheck(InvSuspenseMatches)
	for _, t := range b.l.Transactions {
		if !slices.Contains(betTxKinds, t.Kind) || len(b.bets[t.Ref]) == 0 {
			continue
		}
		c.looked(1)
		bet := b.bets[t.Ref][0]
		var problems []string
		want := -bet.Stake // a settle, void or cash-out releases the stake
		if t.Kind == TxStake {
			want = bet.Stake
		}
		if got := b.suspenseMoved(t.ID); got != want {
			problems = append(problems, fmt.Sprintf("moves %+d on suspense, not %+d", got, want))
		}
		if t.Kind == TxStake {
			if got := b.credit(t.ID, bet.Account); got != -bet.Stake {
				problems = append(problems, fmt.Sprintf("moves %+d on account %s, not %+d", got, bet.Account, -bet.Stake))
			}
			for _, p := range b.postingsOf[t.ID] {
				if p.Account != bet.Account && b.accounts[p.Account].Kind != AccountSuspense {
					problems = append(problems, fmt.Sprintf("also posts %+d to account %s (%s)", p.Amount, p.Account, postingRef(p.ID)))
				}
			}
		}
		if len(problems) > 0 {
			c.violated(fmt.Sprintf("%s %s of bet %s (stake %d) %s", t.Kind, txRef(t.ID), bet.ID, bet.Stake, strings.Join(problems, "; ")),
				bet.ID, txRef(t.ID))
		}
	}

	var held, open int64
	var suspense []string
	for _, a := range b.l.Accounts {
		if a.Kind == AccountSuspense && !slices.Contains(suspense, a.ID) {
			suspense = append(suspense, a.ID)
			held += b.posted[a.ID]
		}
	}
	counted := map[string]bool{}
	for _, bet := range b.l.Bets {
		// A repeated row is one bet (bet_at_most_once reports it); its
		// stake was reserved once, so it is counted once.
		if !counted[bet.ID] && bet.Status == BetAccepted {
			open += bet.Stake
		}
		counted[bet.ID] = true
	}
	c.looked(1)
	c.inv.Note = fmt.Sprintf("suspense holds %d; open bets' stakes sum to %d", held, open)
	if held != open {
		c.violated(fmt.Sprintf("the suspense accounts hold %d by their postings, but the stakes of the open (accepted) bets sum to %d (difference %d)",
			held, open, held-open), capIDs(append(suspense, b.suspenseSuspects()...))...)
	}
	return c.done()
}

// suspenseMoved is what transaction txID moves into the suspense accounts
// (negative: out of them).
func (b *books) suspenseMoved(txID int64) int64 {
	var sum int64
	for _, p := range b.postingsOf[txID] {
		if b.accounts[p.Account].Kind == AccountSuspense {
			sum += p.Amount
		}
	}
	return sum
}

// suspenseSuspects names what can make the suspense balance differ from
// the open stakes: a bet whose transactions leave in suspense other than
// its stake while open, or other than nothing once ended, with those
// transactions; and a transaction that moves suspense without belonging to
// a ledger bet.
func (b *books) suspenseSuspects() []string {
	var ids []string
	seen := map[string]bool{}
	for _, bet := range b.l.Bets {
		if seen[bet.ID] {
			continue
		}
		seen[bet.ID] = true
		txs := b.refs(bet.ID, betTxKinds...)
		var left, want int64
		for _, t := range txs {
			left += b.suspenseMoved(t.ID)
		}
		if bet.Status == BetAccepted {
			want = bet.Stake
		}
		if left != want {
			ids = append(ids, bet.ID)
			ids = append(ids, txIDs(txs)...)
		}
	}
	for _, t := range b.l.Transactions {
		if b.suspenseMoved(t.ID) != 0 && (!slices.Contains(betTxKinds, t.Kind) || len(b.bets[t.Ref]) == 0) {
			ids = append(ids, txRef(t.ID))
		}
	}
	for _, p := range b.l.Postings {
		if _, ok := b.txs[p.TxID]; !ok && b.accounts[p.Account].Kind == AccountSuspense {
			ids = append(ids, postingRef(p.ID))
		}
	}
	return ids
}

// endKindFor is the transaction kind that ends a bet of the given status;
// "" for an open bet (nothing may end it).
func endKindFor(status string) string {
	switch status {
	case BetWon, BetLost:
		return TxSettle
	case BetVoid:
		return TxVoid
	case BetCashedOut:
		return TxCashout
	}
	return ""
}

// settlementDrained: after the drain, no bet is still open on a market
// whose result the feed published.
func (b *books) settlementDrained(opts ReconcileOptions) Invariant {
	c := newCheck(InvSettlementDrained)
	suffix := ""
	if opts.DrainTimedOut {
		suffix = ", and the drain timed out waiting for it"
		c.inv.Note = "the drain timed out"
	}
	for _, bet := range b.l.Bets {
		e, ok := b.firstResult[bet.Market]
		if !ok {
			continue
		}
		c.looked(1)
		if bet.Status == BetAccepted {
			c.violated(fmt.Sprintf("bet %s is still open although market %s's result was published at %.3fs%s",
				bet.ID, bet.Market, float64(e.IntendedUS)/1e6, suffix), bet.ID, bet.Market)
		}
	}
	return c.done()
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
