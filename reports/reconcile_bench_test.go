package reports

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// bigBooks generates a consistent journal and ledger of n bets: players
// deposit once, bet on markets with a timeline (open, a suspension whose
// bets are refused, open again), and nine markets in ten are resulted and
// settled (won and lost), the rest left open. Money is as the reference
// platform books it (docs/ledger.md).
func bigBooks(n int) ([]replay.JournalEntry, *Ledger) {
	const players, markets = 10_000, 10_000
	l := &Ledger{
		Accounts:     make([]Account, 0, players+3),
		Transactions: make([]Transaction, 0, players+2*n),
		Postings:     make([]Posting, 0, 2*players+5*n),
		Bets:         make([]Bet, 0, n),
		Markets:      make([]Market, 0, markets),
	}
	j := make([]replay.JournalEntry, 0, players+n+4*markets)
	balance := map[string]int64{}
	var txID, postID int64
	post := func(kind, ref string, moves ...any) {
		txID++
		l.Transactions = append(l.Transactions, Transaction{ID: txID, Kind: kind, Ref: ref})
		for i := 0; i < len(moves); i += 2 {
			acct, amt := moves[i].(string), moves[i+1].(int64)
			if amt == 0 {
				continue
			}
			postID++
			l.Postings = append(l.Postings, Posting{ID: postID, TxID: txID, Account: acct, Amount: amt})
			balance[acct] += amt
		}
	}
	us := int64(0)
	entry := func(e replay.JournalEntry) {
		us += 10
		e.Seq, e.IntendedUS, e.SentUS = int64(len(j)+1), us, us
		if e.Outcome != replay.OutcomePublished {
			e.DoneUS = us + 2000
		}
		j = append(j, e)
	}
	acct := func(i int) string { return "p" + strconv.Itoa(i%players) }
	mkt := func(i int) string { return "m" + strconv.Itoa(i%markets) }
	for i := range players {
		id := "d" + strconv.Itoa(i)
		entry(replay.JournalEntry{Kind: replay.KindDeposit, ID: id, Account: acct(i), Amount: 10_000_000, Outcome: replay.OutcomeAccepted})
		post(TxDeposit, id, "cash", int64(-10_000_000), acct(i), int64(10_000_000))
	}
	for m := range markets {
		entry(replay.JournalEntry{Kind: replay.KindStatus, Market: mkt(m), Status: replay.StatusOpen, Outcome: replay.OutcomePublished})
	}
	for m := range markets {
		entry(replay.JournalEntry{Kind: replay.KindStatus, Market: mkt(m), Status: replay.StatusSuspended, Outcome: replay.OutcomePublished})
		entry(replay.JournalEntry{Kind: replay.KindBet, ID: "r" + strconv.Itoa(m), Account: acct(m), Market: mkt(m), Selection: "home",
			Odds: "2", Stake: 100, Outcome: replay.OutcomeRejected, Code: codeMarketSuspended, HTTPStatus: 409})
		entry(replay.JournalEntry{Kind: replay.KindStatus, Market: mkt(m), Status: replay.StatusOpen, Outcome: replay.OutcomePublished})
	}
	stakes := make([]int64, n)
	for i := range n {
		id := "b" + strconv.Itoa(i)
		stake := int64(100 + i%400)
		odds := int64(15000 + (i%200)*100)
		sel := "home"
		if i%3 == 0 {
			sel = "away"
		}
		stakes[i] = stake
		entry(replay.JournalEntry{Kind: replay.KindBet, ID: id, Account: acct(i), Market: mkt(i), Selection: sel,
			Odds: oddsText(odds), Stake: stake, Outcome: replay.OutcomeAccepted, HTTPStatus: 201})
		post(TxStake, id, acct(i), -stake, "suspense", stake)
		l.Bets = append(l.Bets, Bet{ID: id, Account: acct(i), Market: mkt(i), Selection: sel, Stake: stake, OddsE4: odds, Status: BetAccepted})
	}
	settled := time.Unix(0, 0).UTC()
	for m := range markets {
		mk := Market{ID: mkt(m), Status: "open"}
		if m%10 != 0 {
			mk = Market{ID: mkt(m), Status: "settled", Winners: []string{"home"}, Resulted: true, ResultedAt: &settled}
			entry(replay.JournalEntry{Kind: replay.KindResult, Market: mkt(m), Winners: []string{"home"}, Outcome: replay.OutcomePublished})
		}
		l.Markets = append(l.Markets, mk)
	}
	for i := range l.Bets {
		b := &l.Bets[i]
		if i%markets%10 == 0 {
			continue // its market is open
		}
		b.SettledAt = &settled
		if b.Selection == "home" {
			b.Status, b.Payout = BetWon, winPayout(b.Stake, b.OddsE4)
			post(TxSettle, b.ID, "suspense", -b.Stake, "house", -(b.Payout - b.Stake), b.Account, b.Payout)
		} else {
			b.Status = BetLost
			post(TxSettle, b.ID, "suspense", -b.Stake, "house", b.Stake)
		}
	}
	for i := range players {
		l.Accounts = append(l.Accounts, Account{ID: acct(i), Kind: AccountPlayer, Balance: balance[acct(i)]})
	}
	l.Accounts = append(l.Accounts,
		Account{ID: "cash", Kind: AccountCash, AllowNegative: true, Balance: balance["cash"]},
		Account{ID: "house", Kind: AccountHouse, AllowNegative: true, Balance: balance["house"]},
		Account{ID: "suspense", Kind: AccountSuspense, Balance: balance["suspense"]})
	slices.SortFunc(l.Accounts, func(a, b Account) int { return cmpString(a.ID, b.ID) })
	return j, l
}

// oddsText writes odds_e4 as decimal odds ("1.5", "2.49").
func oddsText(e4 int64) string {
	return strconv.FormatFloat(float64(e4)/10000, 'f', -1, 64)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// BenchmarkReconcile1M reconciles a generated run of 1,000,000 bets
// (journal and ledger consistent, so every check runs its full path), as
// the run's verdict does: the journal streamed, the ledger in memory. The
// bar is 10 s (the aim 5 s) on the bench machine.
func BenchmarkReconcile1M(b *testing.B) {
	const n = 1_000_000
	j, l := bigBooks(n)
	hs := &HotState{Built: true, Markets: map[string]HotMarket{}}
	for _, m := range l.Markets {
		hs.Markets[m.ID] = HotMarket{Status: m.Status}
	}
	opts := ReconcileOptions{HotState: hs}
	runtime.GC()
	b.ResetTimer()
	for b.Loop() {
		invs := ReconcileEntries(slices.Values(j), l, opts)
		for _, inv := range invs {
			if inv.Failed() {
				b.Fatalf("%s failed on consistent books: %+v", inv.Name, inv.Witnesses)
			}
		}
	}
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(perOp.Nanoseconds()), "ns/reconcile")
	b.ReportMetric(float64(n)/perOp.Seconds(), "bets/s")
	b.ReportMetric(perOp.Seconds(), "s/reconcile")
	if testing.Verbose() {
		fmt.Printf("reconciled %d bets, %d transactions, %d postings in %s\n", n, len(l.Transactions), len(l.Postings), perOp)
	}
}
