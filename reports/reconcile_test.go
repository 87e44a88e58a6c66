package reports

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

var t0 = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

// fixture is a small run whose journal and ledger agree on everything:
// deposits, a withdrawal, bets that won, lost, were voided, are still open,
// were rejected, had unknown outcomes (one booked, one not), were dropped,
// and a cash-out. Every test mutates its own fresh copy.
func fixture() ([]replay.JournalEntry, *Ledger) {
	j := []replay.JournalEntry{
		{Kind: replay.KindDeposit, ID: "d1", Account: "a1", Amount: 10000, Outcome: replay.OutcomeAccepted},
		{Kind: replay.KindDeposit, ID: "d2", Account: "a2", Amount: 5000, Outcome: replay.OutcomeAccepted},
		{Kind: replay.KindWithdraw, ID: "w1", Account: "a1", Amount: 1000, Outcome: replay.OutcomeAccepted},
		{Kind: replay.KindBet, ID: "b1", Account: "a1", Market: "m1", Selection: "home", Odds: "2.5", Stake: 1000, Outcome: replay.OutcomeAccepted},
		{Kind: replay.KindBet, ID: "b2", Account: "a2", Market: "m1", Selection: "away", Odds: "3", Stake: 500, Outcome: replay.OutcomeAccepted},
		{Kind: replay.KindBet, ID: "b3", Account: "a1", Market: "m2", Selection: "home", Odds: "1.91", Stake: 300, Outcome: replay.OutcomeAccepted},
		{Kind: replay.KindBet, ID: "b4", Account: "a2", Market: "m3", Selection: "draw", Odds: "2", Stake: 200, Outcome: replay.OutcomeAccepted},
		{Kind: replay.KindBet, ID: "b5", Account: "a1", Market: "m2", Selection: "home", Odds: "2", Stake: 700, Outcome: replay.OutcomeRejected, Code: "EPRICECHANGED", HTTPStatus: 422},
		{Kind: replay.KindBet, ID: "b6", Account: "a2", Market: "m2", Selection: "home", Odds: "2", Stake: 100, Outcome: replay.OutcomeUnknown, Error: "timeout"},
		{Kind: replay.KindBet, ID: "b7", Account: "a2", Market: "m2", Selection: "home", Odds: "2", Stake: 100, Outcome: replay.OutcomeUnknown, Error: "timeout"},
		{Kind: replay.KindBet, ID: "b8", Account: "a1", Market: "m2", Selection: "draw", Odds: "4", Stake: 50, Outcome: replay.OutcomeDropped},
		{Kind: replay.KindBet, ID: "b9", Account: "a1", Market: "m2", Selection: "away", Odds: "3", Stake: 100, Outcome: replay.OutcomeAccepted},
		{Kind: replay.KindCashout, ID: "c1", Account: "a1", Bet: "b9", Amount: 150, Outcome: replay.OutcomeAccepted},
		{Kind: replay.KindDeposit, ID: "d3", Account: "a2", Amount: 999, Outcome: replay.OutcomeRejected, Code: "EINVALID", HTTPStatus: 400},
		{Kind: replay.KindResult, Market: "m1", Winners: []string{"home"}, Outcome: replay.OutcomePublished},
		{Kind: replay.KindResult, Market: "m3", Outcome: replay.OutcomePublished},
	}
	for i := range j {
		j[i].Seq = int64(i + 1)
		j[i].IntendedUS = int64(i+1) * 1_000_000
		if j[i].Outcome != replay.OutcomeDropped {
			j[i].SentUS = j[i].IntendedUS + 100
			j[i].DoneUS = j[i].IntendedUS + 5000
		}
	}
	settled := t0.Add(20 * time.Second)
	l := &Ledger{
		Accounts: []Account{
			{ID: "a1", Kind: AccountPlayer}, {ID: "a2", Kind: AccountPlayer},
			{ID: "cash", Kind: AccountCash, AllowNegative: true},
			{ID: "house", Kind: AccountHouse, AllowNegative: true},
			{ID: "suspense", Kind: AccountSuspense},
		},
		Markets: []Market{
			{ID: "m1", Status: "settled", Winners: []string{"home"}, Resulted: true, ResultedAt: &settled},
			{ID: "m2", Status: "open"},
			{ID: "m3", Status: "settled", Winners: []string{}, Resulted: true, ResultedAt: &settled},
		},
		Bets: []Bet{
			{ID: "b1", Account: "a1", Market: "m1", Selection: "home", Stake: 1000, OddsE4: 25000, Status: BetWon, Payout: 2500, PlacedAt: t0, SettledAt: &settled},
			{ID: "b2", Account: "a2", Market: "m1", Selection: "away", Stake: 500, OddsE4: 30000, Status: BetLost, PlacedAt: t0, SettledAt: &settled},
			{ID: "b3", Account: "a1", Market: "m2", Selection: "home", Stake: 300, OddsE4: 19100, Status: BetAccepted, PlacedAt: t0},
			{ID: "b4", Account: "a2", Market: "m3", Selection: "draw", Stake: 200, OddsE4: 20000, Status: BetVoid, Payout: 200, PlacedAt: t0, SettledAt: &settled},
			{ID: "b6", Account: "a2", Market: "m2", Selection: "home", Stake: 100, OddsE4: 20500, Status: BetAccepted, PlacedAt: t0},
			{ID: "b9", Account: "a1", Market: "m2", Selection: "away", Stake: 100, OddsE4: 30000, Status: BetCashedOut, Payout: 150, PlacedAt: t0, SettledAt: &settled},
		},
	}
	book(l, TxDeposit, "d1", "cash", -10000, "a1", 10000)                  // tx:1
	book(l, TxDeposit, "d2", "cash", -5000, "a2", 5000)                    // tx:2
	book(l, TxWithdraw, "w1", "a1", -1000, "cash", 1000)                   // tx:3
	book(l, TxStake, "b1", "a1", -1000, "suspense", 1000)                  // tx:4
	book(l, TxStake, "b2", "a2", -500, "suspense", 500)                    // tx:5
	book(l, TxStake, "b3", "a1", -300, "suspense", 300)                    // tx:6
	book(l, TxStake, "b4", "a2", -200, "suspense", 200)                    // tx:7
	book(l, TxStake, "b6", "a2", -100, "suspense", 100)                    // tx:8
	book(l, TxStake, "b9", "a1", -100, "suspense", 100)                    // tx:9
	book(l, TxSettle, "b1", "suspense", -1000, "house", -1500, "a1", 2500) // tx:10
	book(l, TxSettle, "b2", "suspense", -500, "house", 500)                // tx:11
	book(l, TxVoid, "b4", "suspense", -200, "a2", 200)                     // tx:12
	book(l, TxCashout, "b9", "suspense", -100, "house", -50, "a1", 150)    // tx:13
	return j, l
}

// book appends a transaction with its postings (account, amount pairs) and
// moves the stored balances with them, as a correct platform does.
func book(l *Ledger, kind, ref string, pairs ...any) int64 {
	id := int64(len(l.Transactions) + 1)
	l.Transactions = append(l.Transactions, Transaction{ID: id, Kind: kind, Ref: ref, CreatedAt: t0})
	for i := 0; i < len(pairs); i += 2 {
		acct, amount := pairs[i].(string), int64(pairs[i+1].(int))
		l.Postings = append(l.Postings, Posting{ID: int64(len(l.Postings) + 1), TxID: id, Account: acct, Amount: amount})
		account(l, acct).Balance += amount
	}
	return id
}

// account returns a pointer to the named account of l.
func account(l *Ledger, id string) *Account {
	for i := range l.Accounts {
		if l.Accounts[i].ID == id {
			return &l.Accounts[i]
		}
	}
	panic("no account " + id)
}

// bet returns a pointer to the first bet of l with id.
func bet(l *Ledger, id string) *Bet {
	for i := range l.Bets {
		if l.Bets[i].ID == id {
			return &l.Bets[i]
		}
	}
	panic("no bet " + id)
}

// posting returns a pointer to transaction tx's posting into acct.
func posting(l *Ledger, tx int64, acct string) *Posting {
	for i := range l.Postings {
		if l.Postings[i].TxID == tx && l.Postings[i].Account == acct {
			return &l.Postings[i]
		}
	}
	panic(fmt.Sprintf("no posting of tx %d into %s", tx, acct))
}

// unbook removes transaction id and its postings and moves the stored
// balances back: the ledger stays internally consistent.
func unbook(l *Ledger, id int64) {
	l.Transactions = slices.DeleteFunc(l.Transactions, func(t Transaction) bool { return t.ID == id })
	l.Postings = slices.DeleteFunc(l.Postings, func(p Posting) bool {
		if p.TxID == id {
			account(l, p.Account).Balance -= p.Amount
			return true
		}
		return false
	})
}

func invariantsByName(invs []Invariant) map[string]Invariant {
	m := map[string]Invariant{}
	for _, inv := range invs {
		m[inv.Name] = inv
	}
	return m
}

func failing(invs []Invariant) []string {
	var out []string
	for _, inv := range invs {
		if inv.Failed() {
			out = append(out, inv.Name)
		}
	}
	return out
}

func TestReconcileConsistentFixture(t *testing.T) {
	j, l := fixture()
	// m2's timeline: open all along, so no_bet_accepted_while_suspended
	// has bets to look at.
	j = append(j, replay.JournalEntry{Seq: int64(len(j) + 1), Kind: replay.KindStatus, Market: "m2", Status: replay.StatusOpen,
		Outcome: replay.OutcomePublished})
	invs := Reconcile(j, l, ReconcileOptions{})
	want := []string{
		InvMoneyConserved, InvDoubleEntry, InvBalancesMatch, InvNoNegativeBalance, InvBetAtMostOnce,
		InvAcknowledgedBooked, InvRejectedNoPostings, InvUnknownResolved, InvNoPhantomEntries,
		InvPayoutsExact, InvStakeSettledOnce, InvSuspenseMatches, InvSettlementDrained,
		InvPostingsAppendOnly, InvNoBetWhileSuspended, InvHotStateMatches, InvEventStoreFolds,
	}
	// Not checked without an event store (9, 12) or a hot state (11).
	notChecked := []string{InvPostingsAppendOnly, InvHotStateMatches, InvEventStoreFolds}
	var names []string
	for _, inv := range invs {
		names = append(names, inv.Name)
		if slices.Contains(notChecked, inv.Name) {
			if inv.Status != StatusNotChecked || inv.Pass || inv.Failed() || inv.Note == "" {
				t.Errorf("%s: status %q pass %v note %q, want not_checked with a note, never passing nor failing", inv.Name, inv.Status, inv.Pass, inv.Note)
			}
			continue
		}
		if !inv.Pass || inv.Status != StatusPass || inv.Violations != 0 {
			t.Errorf("%s failed on a consistent ledger: %+v", inv.Name, inv.Witnesses)
		}
		if inv.Checked == 0 {
			t.Errorf("%s checked nothing", inv.Name)
		}
	}
	if !slices.Equal(InvariantNames(), want) {
		t.Errorf("InvariantNames %v, want %v", InvariantNames(), want)
	}
	if !slices.Equal(names, want) {
		t.Fatalf("invariants %v, want %v", names, want)
	}
	got := invariantsByName(invs)
	// Spot-check what was counted, so a check that silently skips shows.
	checked := map[string]int{
		InvMoneyConserved:     2,  // two equations
		InvDoubleEntry:        14, // 13 transactions + the overall sum
		InvBalancesMatch:      5,  // accounts
		InvNoNegativeBalance:  3,  // a1, a2, suspense
		InvAcknowledgedBooked: 9,  // b1 b2 b3 b4 b9, d1 d2 w1, c1
		InvRejectedNoPostings: 2,  // b5, d3
		InvUnknownResolved:    2,  // b6, b7
		InvNoPhantomEntries:   19, // 6 bets + 13 transactions
		InvSettlementDrained:  3,  // b1 b2 on m1, b4 on m3
		InvSuspenseMatches:    11, // 6 stakes + 4 settle/void/cash-out + the final balance
	}
	for name, n := range checked {
		if got[name].Checked != n {
			t.Errorf("%s checked %d, want %d", name, got[name].Checked, n)
		}
	}
	if note := got[InvUnknownResolved].Note; note != "2 unknown outcomes: 1 present once, 1 absent" {
		t.Errorf("unknown note %q", note)
	}
	// b3 and b6 are open: 300 + 100.
	if note := got[InvSuspenseMatches].Note; note != "suspense holds 400; open bets' stakes sum to 400" {
		t.Errorf("suspense note %q", note)
	}
}

func TestReconcileViolations(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(j *[]replay.JournalEntry, l *Ledger)
		fail    []string // exactly the invariants that must fail
		inv     string   // the invariant whose witness is checked
		witness []string // ids its first witness must name
	}{
		// The cash account was edited: money appears from nowhere.
		{"cash balance tampered", func(j *[]replay.JournalEntry, l *Ledger) {
			account(l, "cash").Balance += 1000
		}, []string{InvMoneyConserved, InvBalancesMatch}, InvMoneyConserved, []string{"cash"}},
		// A settle transaction pays a player out of cash instead of house:
		// balanced, but money entered the platform without a deposit.
		{"money from cash outside a deposit", func(j *[]replay.JournalEntry, l *Ledger) {
			posting(l, 10, "house").Account = "cash"
			account(l, "house").Balance += 1500
			account(l, "cash").Balance -= 1500
		}, []string{InvMoneyConserved}, InvMoneyConserved, []string{"tx:10"}},
		// The attacker's delete: a1's stake posting of b1 is gone.
		{"posting deleted", func(j *[]replay.JournalEntry, l *Ledger) {
			l.Postings = slices.DeleteFunc(l.Postings, func(p Posting) bool { return p.TxID == 4 && p.Account == "a1" })
		}, []string{InvDoubleEntry, InvBalancesMatch, InvAcknowledgedBooked, InvSuspenseMatches}, InvDoubleEntry, []string{"tx:4", "b1"}},
		// A transaction with a single posting, balanced by nothing.
		{"single posting transaction", func(j *[]replay.JournalEntry, l *Ledger) {
			l.Postings = slices.DeleteFunc(l.Postings, func(p Posting) bool { return p.TxID == 12 && p.Account == "a2" })
			account(l, "a2").Balance -= 200
		}, []string{InvMoneyConserved, InvDoubleEntry, InvPayoutsExact}, InvDoubleEntry, []string{"tx:12", "b4"}},
		// A posting that belongs to no transaction.
		{"orphan posting", func(j *[]replay.JournalEntry, l *Ledger) {
			l.Postings = append(l.Postings, Posting{ID: 99, TxID: 77, Account: "house", Amount: 5})
			account(l, "house").Balance += 5
		}, []string{InvMoneyConserved, InvDoubleEntry}, InvDoubleEntry, []string{"posting:99", "tx:77"}},
		// Two stored balances drift in opposite directions: the totals still
		// add up, but neither account matches its postings.
		{"stored balances drift", func(j *[]replay.JournalEntry, l *Ledger) {
			account(l, "a1").Balance += 100
			account(l, "a2").Balance -= 100
		}, []string{InvBalancesMatch}, InvBalancesMatch, []string{"a1"}},
		// A posting to an account that does not exist.
		{"posting to unknown account", func(j *[]replay.JournalEntry, l *Ledger) {
			posting(l, 13, "a1").Account = "ghost"
			account(l, "a1").Balance -= 150
		}, []string{InvMoneyConserved, InvBalancesMatch, InvPayoutsExact}, InvBalancesMatch, []string{"posting:28", "ghost"}},
		// A withdrawal the player could not afford was booked.
		{"player overdrawn", func(j *[]replay.JournalEntry, l *Ledger) {
			*j = append(*j, replay.JournalEntry{Kind: replay.KindWithdraw, ID: "w2", Account: "a2", Amount: 4500, Outcome: replay.OutcomeAccepted, IntendedUS: 1})
			book(l, TxWithdraw, "w2", "a2", -4500, "cash", 4500)
		}, []string{InvNoNegativeBalance}, InvNoNegativeBalance, []string{"a2"}},
		// An export that lists the same bet twice.
		{"bet row duplicated", func(j *[]replay.JournalEntry, l *Ledger) {
			l.Bets = append(l.Bets, *bet(l, "b1"))
		}, []string{InvBetAtMostOnce, InvAcknowledgedBooked}, InvBetAtMostOnce, []string{"b1"}},
		// The same id re-sent with another stake was accepted instead of
		// refused with ECONFLICT.
		{"reused id accepted with new content", func(j *[]replay.JournalEntry, l *Ledger) {
			e := (*j)[5] // b3
			e.Stake = 999
			*j = append(*j, e)
		}, []string{InvBetAtMostOnce}, InvBetAtMostOnce, []string{"b3"}},
		// Two stake transactions for one bet (impossible in the reference
		// schema, possible in another platform's export).
		{"stake booked twice", func(j *[]replay.JournalEntry, l *Ledger) {
			book(l, TxStake, "b3", "a1", -300, "suspense", 300)
		}, []string{InvBetAtMostOnce, InvAcknowledgedBooked, InvSuspenseMatches}, InvBetAtMostOnce, []string{"b3", "tx:6", "tx:14"}},
		// An acknowledged deposit that never reached the ledger.
		{"acknowledged deposit missing", func(j *[]replay.JournalEntry, l *Ledger) {
			unbook(l, 1)
		}, []string{InvAcknowledgedBooked}, InvAcknowledgedBooked, []string{"d1"}},
		// An acknowledged bet booked with another stake than requested.
		{"acknowledged bet booked with other stake", func(j *[]replay.JournalEntry, l *Ledger) {
			bet(l, "b3").Stake = 301
		}, []string{InvAcknowledgedBooked, InvSuspenseMatches}, InvAcknowledgedBooked, []string{"b3", "tx:6"}},
		// Accepted odds worse than the bettor asked for.
		{"acknowledged bet below requested odds", func(j *[]replay.JournalEntry, l *Ledger) {
			bet(l, "b3").OddsE4 = 19000
		}, []string{InvAcknowledgedBooked}, InvAcknowledgedBooked, []string{"b3"}},
		// An acknowledged bet that is not in the ledger (its stake is).
		{"acknowledged bet row missing", func(j *[]replay.JournalEntry, l *Ledger) {
			l.Bets = slices.DeleteFunc(l.Bets, func(b Bet) bool { return b.ID == "b3" })
		}, []string{InvAcknowledgedBooked, InvNoPhantomEntries, InvSuspenseMatches}, InvAcknowledgedBooked, []string{"b3", "tx:6"}},
		// An acknowledged cash-out that left the bet open.
		{"acknowledged cash-out not booked", func(j *[]replay.JournalEntry, l *Ledger) {
			unbook(l, 13)
			b := bet(l, "b9")
			b.Status, b.Payout, b.SettledAt = BetAccepted, 0, nil
		}, []string{InvAcknowledgedBooked}, InvAcknowledgedBooked, []string{"c1", "b9"}},
		// An acknowledged cash-out that paid less than the amount accepted.
		{"acknowledged cash-out paid less", func(j *[]replay.JournalEntry, l *Ledger) {
			for i := range *j {
				if (*j)[i].ID == "c1" {
					(*j)[i].Amount = 151
				}
			}
		}, []string{InvAcknowledgedBooked}, InvAcknowledgedBooked, []string{"c1", "b9"}},
		// A rejected deposit that was booked all the same.
		{"rejected deposit booked", func(j *[]replay.JournalEntry, l *Ledger) {
			book(l, TxDeposit, "d3", "cash", -999, "a2", 999)
		}, []string{InvRejectedNoPostings}, InvRejectedNoPostings, []string{"d3", "tx:14"}},
		// A rejected cash-out that was booked all the same.
		{"rejected cash-out booked", func(j *[]replay.JournalEntry, l *Ledger) {
			*j = append(*j, replay.JournalEntry{Kind: replay.KindCashout, ID: "c2", Account: "a1", Bet: "b3", Amount: 200,
				Outcome: replay.OutcomeRejected, Code: "EPRICECHANGED", HTTPStatus: 422, Seq: 90, IntendedUS: 90_000_000, SentUS: 90_000_100, DoneUS: 90_005_000})
			b := bet(l, "b3")
			b.Status, b.Payout, b.SettledAt = BetCashedOut, 200, &t0
			book(l, TxCashout, "b3", "suspense", -300, "house", 100, "a1", 200)
		}, []string{InvRejectedNoPostings}, InvRejectedNoPostings, []string{"c2", "b3", "tx:14"}},
		// A rejected bet that was booked all the same.
		{"rejected bet booked", func(j *[]replay.JournalEntry, l *Ledger) {
			l.Bets = append(l.Bets, Bet{ID: "b5", Account: "a1", Market: "m2", Selection: "home", Stake: 700, OddsE4: 20000, Status: BetAccepted, PlacedAt: t0})
			book(l, TxStake, "b5", "a1", -700, "suspense", 700)
		}, []string{InvRejectedNoPostings}, InvRejectedNoPostings, []string{"b5", "tx:14"}},
		// An unknown outcome that was booked with other content.
		{"unknown bet present with other stake", func(j *[]replay.JournalEntry, l *Ledger) {
			bet(l, "b6").Stake = 150
		}, []string{InvUnknownResolved, InvSuspenseMatches}, InvUnknownResolved, []string{"b6", "tx:8"}},
		// An unknown outcome booked twice.
		{"unknown deposit present twice", func(j *[]replay.JournalEntry, l *Ledger) {
			*j = append(*j, replay.JournalEntry{Kind: replay.KindDeposit, ID: "d9", Account: "a2", Amount: 10, Outcome: replay.OutcomeUnknown, IntendedUS: 1})
			book(l, TxDeposit, "d9", "cash", -10, "a2", 10)
			book(l, TxDeposit, "d9", "cash", -10, "a2", 10)
		}, []string{InvUnknownResolved}, InvUnknownResolved, []string{"d9", "tx:14", "tx:15"}},
		// The runner's tamper test: a bet row copied under a new id.
		{"bet duplicated under a new id", func(j *[]replay.JournalEntry, l *Ledger) {
			dup := *bet(l, "b3")
			dup.ID = "b3-dup"
			l.Bets = append(l.Bets, dup)
		}, []string{InvNoPhantomEntries, InvSuspenseMatches}, InvNoPhantomEntries, []string{"b3-dup"}},
		// A bet whose only request was dropped, booked anyway.
		{"dropped bet booked", func(j *[]replay.JournalEntry, l *Ledger) {
			l.Bets = append(l.Bets, Bet{ID: "b8", Account: "a1", Market: "m2", Selection: "draw", Stake: 50, OddsE4: 40000, Status: BetAccepted, PlacedAt: t0})
			book(l, TxStake, "b8", "a1", -50, "suspense", 50)
		}, []string{InvNoPhantomEntries}, InvNoPhantomEntries, []string{"b8"}},
		// A deposit nobody asked for.
		{"phantom deposit", func(j *[]replay.JournalEntry, l *Ledger) {
			book(l, TxDeposit, "d-x", "cash", -1, "a1", 1)
		}, []string{InvNoPhantomEntries}, InvNoPhantomEntries, []string{"d-x", "tx:14"}},
		// A won bet paid one unit too much, consistently booked.
		{"won payout off by one", func(j *[]replay.JournalEntry, l *Ledger) {
			bet(l, "b1").Payout = 2501
			posting(l, 10, "house").Amount = -1501
			posting(l, 10, "a1").Amount = 2501
			account(l, "house").Balance--
			account(l, "a1").Balance++
		}, []string{InvPayoutsExact}, InvPayoutsExact, []string{"b1"}},
		// The settle transaction credits less than the recorded payout.
		{"settle credits less than payout", func(j *[]replay.JournalEntry, l *Ledger) {
			posting(l, 10, "house").Amount = -1400
			posting(l, 10, "a1").Amount = 2400
			account(l, "house").Balance += 100
			account(l, "a1").Balance -= 100
		}, []string{InvPayoutsExact}, InvPayoutsExact, []string{"b1", "tx:10"}},
		// A lost bet recorded as won (with the matching payout).
		{"status contradicts result", func(j *[]replay.JournalEntry, l *Ledger) {
			b := bet(l, "b2")
			b.Status, b.Payout = BetWon, 1500
			posting(l, 11, "house").Amount = -1000
			l.Postings = append(l.Postings, Posting{ID: 40, TxID: 11, Account: "a2", Amount: 1500})
			account(l, "house").Balance -= 1500
			account(l, "a2").Balance += 1500
		}, []string{InvPayoutsExact}, InvPayoutsExact, []string{"b2", "m1"}},
		// A cash-out paying more than the bet could ever win.
		{"cash-out above the maximum win", func(j *[]replay.JournalEntry, l *Ledger) {
			bet(l, "b9").Payout = 301
			posting(l, 13, "house").Amount = -201
			posting(l, 13, "a1").Amount = 301
			account(l, "house").Balance -= 151
			account(l, "a1").Balance += 151
		}, []string{InvPayoutsExact}, InvPayoutsExact, []string{"b9"}},
		// The platform recorded a result the feed never sent.
		{"market result disagrees with the feed", func(j *[]replay.JournalEntry, l *Ledger) {
			l.Markets[0].Winners = []string{"home", "draw"}
		}, []string{InvPayoutsExact}, InvPayoutsExact, []string{"m1"}},
		// A stake ended twice: settled and then cashed out.
		{"stake ended twice", func(j *[]replay.JournalEntry, l *Ledger) {
			book(l, TxCashout, "b1", "house", -10, "a1", 10)
		}, []string{InvStakeSettledOnce, InvSuspenseMatches}, InvStakeSettledOnce, []string{"b1", "tx:10", "tx:14"}},
		// A bet voided by a transaction while its status says lost.
		{"end transaction contradicts status", func(j *[]replay.JournalEntry, l *Ledger) {
			l.Transactions[10].Kind = TxVoid // tx:11, b2's settle
		}, []string{InvStakeSettledOnce}, InvStakeSettledOnce, []string{"b2", "tx:11"}},
		// The market is resulted in the ledger but a bet on it stayed open.
		{"resulted market with an open bet", func(j *[]replay.JournalEntry, l *Ledger) {
			unbook(l, 10)
			b := bet(l, "b1")
			b.Status, b.Payout, b.SettledAt = BetAccepted, 0, nil
		}, []string{InvStakeSettledOnce, InvSettlementDrained}, InvStakeSettledOnce, []string{"b1", "m1"}},
		// A settle that takes too little out of suspense and balances it
		// through house: the player is paid exactly, every transaction
		// balances, money is conserved, and suspense keeps 100 no open bet
		// accounts for.
		{"settle takes the wrong amount out of suspense", func(j *[]replay.JournalEntry, l *Ledger) {
			posting(l, 10, "suspense").Amount = -900
			posting(l, 10, "house").Amount = -1600
			account(l, "suspense").Balance += 100
			account(l, "house").Balance -= 100
		}, []string{InvSuspenseMatches}, InvSuspenseMatches, []string{"b1", "tx:10"}},
		// A void that releases less than the stake, the rest from house.
		{"void releases less than the stake", func(j *[]replay.JournalEntry, l *Ledger) {
			posting(l, 12, "suspense").Amount = -150
			l.Postings = append(l.Postings, Posting{ID: 40, TxID: 12, Account: "house", Amount: -50})
			account(l, "suspense").Balance += 50
			account(l, "house").Balance -= 50
		}, []string{InvSuspenseMatches}, InvSuspenseMatches, []string{"b4", "tx:12"}},
		// A stake that parks part of itself in house instead of suspense.
		{"stake split between suspense and house", func(j *[]replay.JournalEntry, l *Ledger) {
			posting(l, 6, "suspense").Amount = 250
			l.Postings = append(l.Postings, Posting{ID: 40, TxID: 6, Account: "house", Amount: 50})
			account(l, "suspense").Balance -= 50
			account(l, "house").Balance += 50
		}, []string{InvSuspenseMatches}, InvSuspenseMatches, []string{"b3", "tx:6"}},
		// A stake with an extra, balanced pair of postings: house pays
		// another player. Suspense and the bettor are right; the stake is not.
		{"stake with other postings", func(j *[]replay.JournalEntry, l *Ledger) {
			l.Postings = append(l.Postings,
				Posting{ID: 40, TxID: 6, Account: "house", Amount: -10},
				Posting{ID: 41, TxID: 6, Account: "a2", Amount: 10})
			account(l, "house").Balance -= 10
			account(l, "a2").Balance += 10
		}, []string{InvSuspenseMatches}, InvSuspenseMatches, []string{"b3", "tx:6"}},
		// A deposit that also moves money between house and suspense: every
		// bet's transactions are right, but suspense holds more than the
		// open stakes, and the witness names the transaction.
		{"suspense moved outside a bet", func(j *[]replay.JournalEntry, l *Ledger) {
			l.Postings = append(l.Postings,
				Posting{ID: 40, TxID: 1, Account: "suspense", Amount: 5},
				Posting{ID: 41, TxID: 1, Account: "house", Amount: -5})
			account(l, "suspense").Balance += 5
			account(l, "house").Balance -= 5
		}, []string{InvSuspenseMatches}, InvSuspenseMatches, []string{"suspense", "tx:1"}},
		// The feed published m1's result, the platform never took it, and a
		// bet stayed open after the drain.
		{"result published, bet not drained", func(j *[]replay.JournalEntry, l *Ledger) {
			unbook(l, 10)
			b := bet(l, "b1")
			b.Status, b.Payout, b.SettledAt = BetAccepted, 0, nil
			l.Markets[0] = Market{ID: "m1", Status: "closed"}
		}, []string{InvSettlementDrained}, InvSettlementDrained, []string{"b1", "m1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, l := fixture()
			tc.mutate(&j, l)
			invs := Reconcile(j, l, ReconcileOptions{})
			if got := failing(invs); !slices.Equal(got, tc.fail) {
				for _, inv := range invs {
					if inv.Failed() {
						t.Logf("%s: %+v", inv.Name, inv.Witnesses)
					}
				}
				t.Fatalf("failing invariants %v, want %v", got, tc.fail)
			}
			inv := invariantsByName(invs)[tc.inv]
			if inv.Violations == 0 || len(inv.Witnesses) == 0 {
				t.Fatalf("%s has no witness: %+v", tc.inv, inv)
			}
			w := inv.Witnesses[0]
			for _, id := range tc.witness {
				if !slices.Contains(w.IDs, id) {
					t.Errorf("%s witness %v (%s) does not name %s", tc.inv, w.IDs, w.Why, id)
				}
			}
			if w.Why == "" {
				t.Errorf("%s witness has no why", tc.inv)
			}
		})
	}
}

func TestReconcileRetriesAndOptions(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(j *[]replay.JournalEntry, l *Ledger)
		opts   ReconcileOptions
		check  func(t *testing.T, got map[string]Invariant)
	}{
		// A rejected retry of an accepted id (ECONFLICT) may be in the ledger.
		{"rejected retry of an accepted bet", func(j *[]replay.JournalEntry, l *Ledger) {
			e := (*j)[5] // b3, accepted
			e.Stake, e.Outcome, e.Code = 999, replay.OutcomeRejected, "ECONFLICT"
			*j = append(*j, e)
		}, ReconcileOptions{}, func(t *testing.T, got map[string]Invariant) {
			inv := got[InvRejectedNoPostings]
			if !inv.Pass || inv.Checked != 3 || !strings.Contains(inv.Note, "1 of them") {
				t.Fatalf("%+v", inv)
			}
			if !got[InvBetAtMostOnce].Pass {
				t.Fatalf("a refused reuse is not a double booking: %+v", got[InvBetAtMostOnce])
			}
		}},
		// An accepted retry that writes the same odds another way ("2" vs
		// "2.00") is the same request, not a second content.
		{"retry with the same odds written differently", func(j *[]replay.JournalEntry, l *Ledger) {
			e := (*j)[5] // b3, accepted
			e4, err := replay.ParseOdds(e.Odds)
			if err != nil {
				panic(err)
			}
			e.Odds = fmt.Sprintf("%d.%04d", e4/10000, e4%10000)
			*j = append(*j, e)
		}, ReconcileOptions{}, func(t *testing.T, got map[string]Invariant) {
			if inv := got[InvBetAtMostOnce]; !inv.Pass {
				t.Fatalf("%+v", inv)
			}
		}},
		// The drain timing out is said, on the invariant that it explains.
		{"drain timed out", func(j *[]replay.JournalEntry, l *Ledger) {
			unbook(l, 11)
			b := bet(l, "b2")
			b.Status, b.SettledAt = BetAccepted, nil
			l.Markets[0] = Market{ID: "m1", Status: "closed"}
		}, ReconcileOptions{DrainTimedOut: true}, func(t *testing.T, got map[string]Invariant) {
			inv := got[InvSettlementDrained]
			if inv.Pass || inv.Note != "the drain timed out" || !strings.Contains(inv.Witnesses[0].Why, "drain timed out") {
				t.Fatalf("%+v", inv)
			}
		}},
		// More violations than witnesses: all counted, ten kept.
		{"witnesses are capped", func(j *[]replay.JournalEntry, l *Ledger) {
			for i := range 15 {
				dup := *bet(l, "b3")
				dup.ID = "ghost-" + string(rune('a'+i))
				l.Bets = append(l.Bets, dup)
			}
		}, ReconcileOptions{}, func(t *testing.T, got map[string]Invariant) {
			inv := got[InvNoPhantomEntries]
			if inv.Violations != 15 || len(inv.Witnesses) != MaxWitnesses {
				t.Fatalf("violations %d witnesses %d", inv.Violations, len(inv.Witnesses))
			}
		}},
		// An empty run: nothing checked, nothing violated, "0 of 0" visible.
		{"empty ledger and journal", func(j *[]replay.JournalEntry, l *Ledger) {
			*j, *l = nil, Ledger{}
		}, ReconcileOptions{}, func(t *testing.T, got map[string]Invariant) {
			if inv := got[InvNoPhantomEntries]; !inv.Pass || inv.Checked != 0 {
				t.Fatalf("%+v", inv)
			}
			if inv := got[InvMoneyConserved]; !inv.Pass || inv.Checked != 2 {
				t.Fatalf("%+v", inv)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, l := fixture()
			tc.mutate(&j, l)
			tc.check(t, invariantsByName(Reconcile(j, l, tc.opts)))
		})
	}
}

func TestWinPayout(t *testing.T) {
	tests := []struct {
		name          string
		stake, oddsE4 int64
		want          int64
	}{
		{"exact", 1000, 25000, 2500},                                 // 2.5 × 10.00
		{"floors the fraction", 333, 19100, 636},                     // 636.03 → 636
		{"floors just below a unit", 1, 19999, 1},                    // 1.9999 → 1
		{"minimum odds on one unit", 1, 10100, 1},                    // 1.01 → 1: the house pays nothing extra
		{"no int64 overflow", 1 << 40, 10_000_000, (1 << 40) * 1000}, // 1000.0 on a huge stake
		{"result beyond int64", 1 << 62, 10_000_000, -1},             // cannot be a payout
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := winPayout(tc.stake, tc.oddsE4); got != tc.want {
				t.Fatalf("winPayout(%d, %d) = %d, want %d", tc.stake, tc.oddsE4, got, tc.want)
			}
		})
	}
}

// TestReconcileRefusedSecondCashout: a cash-out refused because another
// one had already closed its bet is no violation, though the bet has a
// cash-out transaction; the note counts it.
func TestReconcileRefusedSecondCashout(t *testing.T) {
	j, l := fixture()
	j = append(j, replay.JournalEntry{Kind: replay.KindCashout, ID: "c3", Account: "a1", Bet: "b9", Amount: 150,
		Outcome: replay.OutcomeRejected, Code: "EBETCLOSED", HTTPStatus: 422, Seq: 90, IntendedUS: 90_000_000, SentUS: 90_000_100, DoneUS: 90_005_000})
	invs := Reconcile(j, l, ReconcileOptions{})
	if got := failing(invs); len(got) != 0 {
		t.Fatalf("failing invariants %v", got)
	}
	inv := invariantsByName(invs)[InvRejectedNoPostings]
	if !strings.Contains(inv.Note, "1 of them") {
		t.Fatalf("note %q does not count the refused cash-out as excused", inv.Note)
	}
}
