package postgres_test

import (
	"context"
	"testing"

	"github.com/inplaylabs/inplay/platform"
)

// TestRollbackMarket rolls a settlement back and resettles it: the
// rollback's postings are exactly the settlement's, negated; the bets are
// open again; the resettlement pays the dead-heat and void-factor payouts;
// a cashed-out bet is never touched; redeliveries change nothing; and a
// rollback the players cannot cover is refused whole.
func TestRollbackMarket(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 10000)
	mustDeposit(t, s, "a2", 10000)
	for _, b := range []struct {
		id, account, selection string
		stake                  int64
		odds                   string
	}{
		{"w", "a1", "home", 1000, "2.5"},
		{"l", "a2", "away", 700, "3"},
		{"c", "a2", "home", 300, "2"},
	} {
		if _, _, err := s.PlaceBet(ctx, bet(b.id, b.account, "m1", b.selection, b.stake, mustOdds(t, b.odds))); err != nil {
			t.Fatal(err)
		}
	}
	// Bet c was cashed out for 450 before the result (the cash-out route
	// is another store's; its ledger effect is what matters here).
	if _, err := pool.Exec(ctx, `WITH t AS (INSERT INTO transactions (kind, ref) VALUES ('cashout', 'c') RETURNING id)
		INSERT INTO postings (tx_id, account_id, amount) SELECT id, a, n FROM t,
		unnest(ARRAY[(SELECT p.account_id FROM postings p JOIN transactions s ON s.id = p.tx_id AND s.kind = 'stake' AND s.ref = 'c' WHERE p.amount > 0), 'house', 'a2'],
		       ARRAY[-300, -150, 450]::bigint[]) AS u(a, n)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE accounts SET balance = balance + CASE id WHEN 'a2' THEN 450 WHEN 'house' THEN -150 ELSE -300 END
		WHERE id IN ('a2', 'house', (SELECT p.account_id FROM postings p JOIN transactions s ON s.id = p.tx_id AND s.kind = 'stake' AND s.ref = 'c' WHERE p.amount > 0))`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE bets SET status = 'cashed_out', payout = 450, settled_at = clock_timestamp() WHERE id = 'c'`); err != nil {
		t.Fatal(err)
	}
	checkBooks(t, pool)
	a1, a2 := balance(t, pool, "a1"), balance(t, pool, "a2")

	if _, err := s.SettleMarket(ctx, "m1", platform.Result{Winners: []string{"home"}}); err != nil {
		t.Fatal(err)
	}
	if got := balance(t, pool, "a1"); got != a1+2500 {
		t.Fatalf("a1 after the settlement = %d, want %d", got, a1+2500)
	}
	rb, err := s.RollbackMarket(ctx, "m1", 1)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Already || rb.Reopened != 2 || rb.Reversed != 2500 {
		t.Fatalf("RollbackMarket = %+v, want 2 bets reopened and 2500 taken back", rb)
	}
	// Each rollback negates its settlement, posting by posting.
	if n := count(t, pool, `SELECT count(*) FROM transactions r JOIN transactions s ON s.ref = r.ref AND s.kind = 'settle' AND s.generation = r.generation
		WHERE r.kind = 'rollback' AND EXISTS (
			(SELECT account_id, -amount FROM postings WHERE tx_id = s.id EXCEPT ALL SELECT account_id, amount FROM postings WHERE tx_id = r.id)
			UNION ALL
			(SELECT account_id, amount FROM postings WHERE tx_id = r.id EXCEPT ALL SELECT account_id, -amount FROM postings WHERE tx_id = s.id))`); n != 0 {
		t.Errorf("%d rollbacks do not negate their settlement exactly", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM bets WHERE id IN ('w', 'l') AND status = 'accepted' AND payout = 0 AND settled_at IS NULL`); n != 2 {
		t.Errorf("%d of the 2 settled bets are open again", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM bets WHERE id = 'c' AND status = 'cashed_out' AND payout = 450`); n != 1 {
		t.Error("the cashed-out bet was touched by the rollback")
	}
	if got := balance(t, pool, "a1"); got != a1 {
		t.Errorf("a1 after the rollback = %d, want %d", got, a1)
	}
	if m, err := s.Market(ctx, "m1"); err != nil || m.Resulted || m.Status != platform.MarketClosed {
		t.Errorf("market after the rollback = %+v, %v; want closed, not resulted", m, err)
	}
	// Redelivered: the rollback and the result it undid change nothing.
	if rb, err := s.RollbackMarket(ctx, "m1", 1); err != nil || !rb.Already {
		t.Fatalf("rollback redelivered = %+v, %v; want Already", rb, err)
	}
	if st, err := s.SettleMarket(ctx, "m1", platform.Result{Winners: []string{"home"}}); err != nil || !st.Already {
		t.Fatalf("the rolled-back result redelivered = %+v, %v; want Already", st, err)
	}
	// Resettled: home and away dead-heat at 0.5, a tenth void.
	// w: floor(1000 × 0.1) + floor(1000 × 2.5 × 0.5 × 0.9) = 100 + 1125;
	// l: 70 + floor(700 × 3 × 0.5 × 0.9) = 70 + 945.
	res := platform.Result{Winners: []string{"home", "away"}, DeadHeat: map[string]platform.Factor{"home": 5000, "away": 5000},
		VoidFactor: 1000, Rollbacks: 1}
	st, err := s.SettleMarket(ctx, "m1", res)
	if err != nil || st.Already || st.Won != 2 || st.Paid != 1225+1015 {
		t.Fatalf("resettlement = %+v, %v; want 2 won paying %d", st, err, 1225+1015)
	}
	if again, err := s.SettleMarket(ctx, "m1", res); err != nil || !again.Already {
		t.Fatalf("resettlement redelivered = %+v, %v; want Already", again, err)
	}
	if got := balance(t, pool, "a2"); got != a2+1015 {
		t.Errorf("a2 after the resettlement = %d, want %d", got, a2+1015)
	}
	checkBooks(t, pool)
	if n := count(t, pool, `SELECT count(*) FROM transactions WHERE ref = 'c' AND kind <> 'stake' AND kind <> 'cashout'`); n != 0 {
		t.Errorf("the cashed-out bet has %d settlement transactions", n)
	}

	// a1 spends its winnings: a rollback would take it below zero, and
	// is refused whole.
	if _, _, err := s.Withdraw(ctx, platform.TransferRequest{ID: "w-all", Account: "a1", Amount: balance(t, pool, "a1")}); err != nil {
		t.Fatal(err)
	}
	txs := count(t, pool, `SELECT count(*) FROM transactions`)
	_, err = s.RollbackMarket(ctx, "m1", 2)
	wantCode(t, err, platform.EINVALID)
	if got := count(t, pool, `SELECT count(*) FROM transactions`); got != txs {
		t.Errorf("a refused rollback booked %d transactions", got-txs)
	}
	// A rollback of a market never settled records its number only.
	if rb, err := s.RollbackMarket(ctx, "m9", 1); err != nil || rb.Already || rb.Reopened != 0 {
		t.Fatalf("rollback of an unsettled market = %+v, %v", rb, err)
	}
	if st, err := s.SettleMarket(ctx, "m9", platform.Result{}); err != nil || !st.Already {
		t.Errorf("a result older than the market's rollback = %+v, %v; want Already (stale)", st, err)
	}
	checkBooks(t, pool)
}
