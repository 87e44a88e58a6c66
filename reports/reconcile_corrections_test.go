package reports

import (
	"slices"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/replay"
)

// correctionsFixture is fixture() with market m1's settlement corrected, as
// a correct platform books it: the feed rolls m1's result back and
// resettles it with home and away dead-heating at 0.5 and a tenth of every
// stake void. b1 (1000 at 2.5, home) and b2 (500 at 3, away) are settled
// (tx:10, tx:11), rolled back (tx:14, tx:15) and settled again (tx:16,
// tx:17): b1 pays floor(1000 × 0.1) + floor(1000 × 2.5 × 0.5 × 0.9) = 100 +
// 1125, b2 floor(500 × 0.1) + floor(500 × 3 × 0.5 × 0.9) = 50 + 675.
func correctionsFixture() ([]replay.JournalEntry, *Ledger) {
	j, l := fixture()
	next := int64(len(j)) * 1_000_000
	for _, e := range []replay.JournalEntry{
		{Kind: replay.KindRollback, Market: "m1", Outcome: replay.OutcomePublished},
		{Kind: replay.KindResult, Market: "m1", Winners: []string{"home", "away"}, DeadHeat: map[string]string{"home": "0.5", "away": "0.5"},
			VoidFactor: "0.1", Outcome: replay.OutcomePublished},
	} {
		e.Seq = int64(len(j) + 1)
		next += 1_000_000
		e.IntendedUS, e.SentUS = next, next+100
		j = append(j, e)
	}
	book(l, TxRollback, "b1", "suspense", 1000, "house", 1500, "a1", -2500) // tx:14
	book(l, TxRollback, "b2", "suspense", 500, "house", -500)               // tx:15
	book(l, TxSettle, "b1", "suspense", -1000, "house", -225, "a1", 1225)   // tx:16
	book(l, TxSettle, "b2", "suspense", -500, "house", -225, "a2", 725)     // tx:17
	l.Markets[0].Winners = []string{"home", "away"}
	b1, b2 := bet(l, "b1"), bet(l, "b2")
	b1.Status, b1.Payout = BetWon, 1225
	b2.Status, b2.Payout = BetWon, 725
	return j, l
}

func TestReconcileCorrectionChain(t *testing.T) {
	j, l := correctionsFixture()
	invs := Reconcile(j, l, ReconcileOptions{})
	if got := failing(invs); len(got) > 0 {
		for _, inv := range invs {
			if inv.Failed() {
				t.Logf("%s: %+v", inv.Name, inv.Witnesses)
			}
		}
		t.Fatalf("a correct rollback chain fails %v", got)
	}
	// The suspense check saw the rollbacks: 6 stakes + 6 settle/void/
	// cash-out/rollback... + the final balance.
	if got := invariantsByName(invs)[InvSuspenseMatches].Checked; got != 15 {
		t.Errorf("suspense_matches_open_stakes checked %d, want 15 (6 stakes, 8 ends and rollbacks, the balance)", got)
	}
}

func TestReconcileCorrectionViolations(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(j *[]replay.JournalEntry, l *Ledger)
		fail    []string // invariants that must fail (others may too)
		inv     string   // the invariant whose witness is checked
		witness []string // ids its first witness must name
		why     string   // what its first witness must say
	}{
		// b1 is paid its resettlement twice, with no rollback between.
		{"double payout", func(j *[]replay.JournalEntry, l *Ledger) {
			book(l, TxSettle, "b1", "suspense", -1000, "house", -225, "a1", 1225) // tx:18
		}, []string{InvStakeSettledOnce, InvSuspenseMatches}, InvStakeSettledOnce, []string{"b1", "tx:16", "tx:18"}, "ended 2 times"},
		// b1's rollback takes back 100 less than its settlement paid, and
		// balances it through house.
		{"rollback not exact", func(j *[]replay.JournalEntry, l *Ledger) {
			posting(l, 14, "a1").Amount += 100
			posting(l, 14, "house").Amount -= 100
			account(l, "a1").Balance += 100
			account(l, "house").Balance -= 100
		}, []string{InvStakeSettledOnce}, InvStakeSettledOnce, []string{"b1", "tx:10", "tx:14"}, "does not reverse settle tx:10 exactly"},
		// b1 is paid as if its selection won outright, ignoring the dead
		// heat and the void factor: 2500, the ledger consistent with it.
		{"wrong dead-heat payout", func(j *[]replay.JournalEntry, l *Ledger) {
			posting(l, 16, "a1").Amount += 1275
			posting(l, 16, "house").Amount -= 1275
			account(l, "a1").Balance += 1275
			account(l, "house").Balance -= 1275
			bet(l, "b1").Payout = 2500
		}, []string{InvPayoutsExact}, InvPayoutsExact, []string{"b1"}, "pays 2500 but stake 1000 at odds_e4 25000 won pays 1225 (dead heat away 5000/10000, dead heat home 5000/10000, void factor 1000/10000)"},
		// A rollback of a cash-out: a cashed-out bet is settled for good.
		{"cash-out rolled back", func(j *[]replay.JournalEntry, l *Ledger) {
			book(l, TxRollback, "b9", "suspense", 100, "house", 50, "a1", -150) // tx:18
			bet(l, "b9").Status, bet(l, "b9").Payout = BetAccepted, 0
		}, []string{InvStakeSettledOnce}, InvStakeSettledOnce, []string{"b9", "tx:13", "tx:18"}, "a cash-out is final"},
		// A rollback with nothing before it to reverse.
		{"rollback of nothing", func(j *[]replay.JournalEntry, l *Ledger) {
			book(l, TxRollback, "b3", "suspense", 300, "a1", -300) // tx:18
		}, []string{InvStakeSettledOnce}, InvStakeSettledOnce, []string{"b3", "tx:18"}, "no settlement before it"},
		// The platform kept its first settlement: the feed rolled it back and
		// resettled, the ledger never heard.
		{"rollback ignored", func(j *[]replay.JournalEntry, l *Ledger) {
			for _, id := range []int64{17, 16, 15, 14} {
				unbook(l, id)
			}
			l.Markets[0].Winners = []string{"home"}
			bet(l, "b1").Payout = 2500
			bet(l, "b2").Status, bet(l, "b2").Payout = BetLost, 0
		}, []string{InvPayoutsExact}, InvPayoutsExact, []string{"b1"}, "pays 2500"},
		// The feed's last word on m1 is a rollback: the platform must have
		// reopened its bets, not kept them settled.
		{"resulted after a final rollback", func(j *[]replay.JournalEntry, l *Ledger) {
			*j = (*j)[:len(*j)-1]
		}, []string{InvPayoutsExact}, InvPayoutsExact, []string{"m1"}, "rolled its result back"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, l := correctionsFixture()
			tc.mutate(&j, l)
			invs := Reconcile(j, l, ReconcileOptions{})
			got := failing(invs)
			for _, want := range tc.fail {
				if !slices.Contains(got, want) {
					t.Errorf("%s passed; failing: %v", want, got)
				}
			}
			inv := invariantsByName(invs)[tc.inv]
			var w *Witness
			for i := range inv.Witnesses {
				if strings.Contains(inv.Witnesses[i].Why, tc.why) {
					w = &inv.Witnesses[i]
					break
				}
			}
			if w == nil {
				t.Fatalf("%s has no witness saying %q: %+v", tc.inv, tc.why, inv.Witnesses)
			}
			for _, id := range tc.witness {
				if !slices.Contains(w.IDs, id) {
					t.Errorf("%s witness %v (%s) does not name %s", tc.inv, w.IDs, w.Why, id)
				}
			}
		})
	}
}

func TestSettledPayout(t *testing.T) {
	half := factors{deadHeat: map[string]int64{"home": 5000}}
	tests := []struct {
		name   string
		status string
		stake  int64
		odds   int64
		f      factors
		want   int64
	}{
		{"plain win", BetWon, 333, 21234, factors{}, 707},                                                   // floor(333 × 2.1234)
		{"plain loss", BetLost, 500, 30000, factors{}, 0},                                                   //
		{"void", BetVoid, 250, 45000, factors{void: 5000}, 250},                                             // a void result refunds whole
		{"dead heat", BetWon, 1000, 25000, half, 1250},                                                      // 1000 × 2.5 × 0.5
		{"dead heat of a third", BetWon, 100, 30000, factors{deadHeat: map[string]int64{"home": 3333}}, 99}, // floor(99.99)
		{"partial void, lost", BetLost, 999, 20000, factors{void: 2500}, 249},                               // floor(249.75)
		{"partial void, won", BetWon, 999, 20000, factors{void: 2500}, 249 + 1498},                          // + floor(999 × 2 × 0.75)
		{"whole void factor, won", BetWon, 400, 20000, factors{void: 10000}, 400},                           // every stake back
		{"dead heat and void", BetWon, 1000, 25000, factors{deadHeat: half.deadHeat, void: 1000}, 100 + 1125},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := settledPayout(tc.status, tc.stake, tc.odds, "home", tc.f); got != tc.want {
				t.Fatalf("settledPayout = %d, want %d", got, tc.want)
			}
		})
	}
}
